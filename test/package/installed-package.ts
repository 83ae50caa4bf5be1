// Packs the project and installs the tarball with production dependencies only, as the Dockerfile's stages do.
import { execFile } from "node:child_process";
import { access, copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const projectDir = fileURLToPath(new URL("../../", import.meta.url));
export const packageName = "web-identity-webhook";

/** One entry of `npm pack --json`. */
interface PackResult {
  filename: string;
  files: { path: string }[];
}

export interface InstalledPackage {
  /** The tarball's file paths as `npm pack --dry-run --json` lists them. */
  packedFiles: string[];
  /** The tarball's file paths as the real `npm pack` wrote them. */
  writtenFiles: string[];
  /** <dir>/app/node_modules/web-identity-webhook, the image's /app/node_modules/web-identity-webhook. */
  packageDir: string;
  /** <dir>/app, the image's working directory. */
  appDir: string;
}

// npm exports its configuration to scripts as npm_config_*; an npm run under `npm test` would inherit the
// outer project's local_prefix and others. Only where npm keeps its cache and config files is passed on.
const inheritedNpmSettings = new Set([
  "npm_config_cache",
  "npm_config_userconfig",
  "npm_config_globalconfig",
]);

function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.toLowerCase().startsWith("npm_") || inheritedNpmSettings.has(key.toLowerCase()),
    ),
  );
}

async function npm(args: string[], cwd: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run("npm", args, {
      cwd,
      env: npmEnvironment(),
      timeout: timeoutMs,
      killSignal: "SIGKILL",
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`npm ${args.join(" ")} in ${cwd} failed: ${failure.message}\n${failure.stderr ?? ""}`);
  }
}

function onlyPack(stdout: string): PackResult {
  const results = JSON.parse(stdout) as PackResult[];
  const [result] = results;
  if (results.length !== 1 || result === undefined)
    throw new Error(`npm pack listed ${results.length} packages`);
  return result;
}

/**
 * The build stage (`npm pack` of the built project) and the install stage (unpack under node_modules,
 * copy package-lock.json, `npm ci --omit=dev`) of the Dockerfile, in `dir`. Needs a built dist/.
 */
export async function packAndInstall(dir: string): Promise<InstalledPackage> {
  const mainScript = join(projectDir, "dist", "cli", "main.js");
  try {
    await access(mainScript);
  } catch {
    throw new Error(`${mainScript} is missing: run "npm run build" before this test`);
  }
  const dryRun = onlyPack(await npm(["pack", "--dry-run", "--json"], projectDir, 60_000));
  const tarballDir = join(dir, "pkg");
  await mkdir(tarballDir);
  const packed = onlyPack(
    await npm(["pack", "--json", "--pack-destination", tarballDir], projectDir, 60_000),
  );

  const appDir = join(dir, "app");
  const packageDir = join(appDir, "node_modules", packageName);
  await mkdir(packageDir, { recursive: true });
  await run("tar", ["-xzf", join(tarballDir, packed.filename), "--strip-components=1", "-C", packageDir], {
    timeout: 30_000,
  });
  await copyFile(join(projectDir, "package-lock.json"), join(packageDir, "package-lock.json"));
  await npm(
    ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
    packageDir,
    60_000,
  );
  return {
    packedFiles: dryRun.files.map((file) => file.path),
    writtenFiles: packed.files.map((file) => file.path),
    packageDir,
    appDir,
  };
}
