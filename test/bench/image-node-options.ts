// The node options the container image runs the webhook with, read from the Dockerfile's ENTRYPOINT, so the
// benchmark measures what ships.
import { readFile } from "node:fs/promises";

/** The options between the node binary and the script in `ENTRYPOINT ["node", ...options, "main.js"]`. */
export async function imageNodeOptions(dockerfilePath: string): Promise<string[]> {
  const text = await readFile(dockerfilePath, "utf8");
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)?.[1];
  if (line === undefined) throw new Error(`${dockerfilePath}: no ENTRYPOINT in exec (JSON array) form`);
  const entrypoint = JSON.parse(line) as unknown;
  if (!Array.isArray(entrypoint) || !entrypoint.every((part) => typeof part === "string"))
    throw new Error(`${dockerfilePath}: ENTRYPOINT is not an array of strings`);
  const script = entrypoint.findIndex((part) => part.endsWith(".js"));
  if (script < 1) throw new Error(`${dockerfilePath}: ENTRYPOINT runs no .js script with node`);
  return entrypoint.slice(1, script);
}
