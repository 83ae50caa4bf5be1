// The release tools as CI has them (cosign and helm from the project's scripts, skopeo and buildah from Debian),
// and a way to run them inside a test's network namespace with a home of the test's own.
import { dirname, join } from "node:path";
import { packageVersion } from "../../chart/package-version.js";
import { type CommandOptions, type CommandResult, repoRoot, runCommand } from "../../support/command.js";
import { inNamespace, type NetworkNamespace } from "./netns.js";

export interface ReleaseTools {
  /** package.json's version: the image tag and the chart version. */
  readonly version: string;
  readonly cosign: string;
  readonly helm: string;
  /** scripts/cache-dir.sh's folder, kept when HOME changes so scripts find what is built already. */
  readonly cacheRoot: string;
}

/** The last line a script printed on stdout: the scripts' convention for the one result they give. */
export function lastLine(result: CommandResult): string {
  return result.stdout.trimEnd().split("\n").at(-1) ?? "";
}

/** Builds or finds the pinned cosign and helm (cached after the first time) and reads the version. */
export async function releaseTools(): Promise<ReleaseTools> {
  const script = (name: string, ...args: string[]) =>
    runCommand("bash", [join(repoRoot, "scripts", name), ...args], { timeoutMs: 900_000 });
  const [cosign, helm, cacheRoot] = await Promise.all([
    script("build-tools.sh", "cosign").then(lastLine),
    script("install-helm.sh").then(lastLine),
    runCommand("bash", [
      "-c",
      `source "${repoRoot}scripts/cache-dir.sh" && printf '%s\\n' "$cache_root"`,
    ]).then(lastLine),
  ]);
  return { version: packageVersion, cosign, helm, cacheRoot };
}

/**
 * The environment release commands get: a HOME of the test's own (no developer's registry logins, helm
 * repositories or Sigstore cache), the cache pinned so the scripts reuse the built tools, and cosign and helm
 * first on PATH as the README assumes. runCommand drops every proxy variable.
 */
export function releaseEnv(
  tools: ReleaseTools,
  home: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    WEB_IDENTITY_WEBHOOK_CACHE: tools.cacheRoot,
    PATH: [dirname(tools.cosign), dirname(tools.helm), process.env.PATH ?? "/usr/bin:/bin"].join(":"),
    ...extra,
  };
}

/** Runs command inside netns; resolves with its output on exit 0, rejects with a CommandError otherwise. */
export function runIn(
  netns: NetworkNamespace,
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const [entered, enteredArgs] = inNamespace(netns, command, args);
  return runCommand(entered, enteredArgs, { timeoutMs: 300_000, ...options });
}
