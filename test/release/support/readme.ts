// The shell commands of a markdown section (the README's, the chart README's), as the tests run them: one
// string per command, as typed.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../support/command.js";

export const readmePath = join(repoRoot, "README.md");

/**
 * The ```sh blocks of the markdown file under the heading `title` (any level, up to the next heading of the
 * same or a higher level), each as its commands: continuation lines joined, blank and comment-only lines dropped.
 */
export async function markdownCommands(file: string, title: string): Promise<string[][]> {
  const lines = (await readFile(file, "utf8")).split("\n");
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, "") === title);
  if (start < 0) throw new Error(`${file} has no heading "${title}"`);
  const level = /^#+/.exec(lines[start] ?? "")?.[0].length ?? 1;
  const blocks: string[][] = [];
  let block: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#+) /.exec(line);
    if (block === undefined && heading && (heading[1]?.length ?? 0) <= level) break;
    if (block === undefined && line === "```sh") block = [];
    else if (block !== undefined && line === "```") {
      blocks.push(commandsOf(block));
      block = undefined;
    } else block?.push(line);
  }
  if (blocks.length === 0) throw new Error(`the section "${title}" of ${file} has no \`\`\`sh block`);
  return blocks;
}

/** markdownCommands of the repository's README.md. */
export function readmeCommands(title: string): Promise<string[][]> {
  return markdownCommands(readmePath, title);
}

function commandsOf(lines: readonly string[]): string[] {
  const commands: string[] = [];
  let pending = "";
  for (const line of lines) {
    pending += line;
    if (pending.endsWith("\\")) {
      pending = `${pending.slice(0, -1).trimEnd()} `;
      continue;
    }
    const command = pending.trim();
    pending = "";
    if (command !== "" && !command.startsWith("#")) commands.push(command);
  }
  return commands;
}

/** A command's words, up to a # comment; quoting no more than '...' and "..." (README commands keep to that). */
export function words(command: string): string[] {
  const found = command.match(/'[^']*'|"[^"]*"|[^\s'"]+/g) ?? [];
  const comment = found.findIndex((word) => word.startsWith("#"));
  return (comment < 0 ? found : found.slice(0, comment)).map((word) => word.replace(/^(['"])(.*)\1$/, "$2"));
}
