// Runs podman against the project's container storage (scripts/containers-env.sh), for the image tests.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageVersion } from "../chart/package-version.js";

const execFileAsync = promisify(execFile);

export const projectDir = join(import.meta.dirname, "../..");

export interface PodmanResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Podman {
  /** `podman ...args`; resolves with the exit code and output, whatever the code. */
  run(args: readonly string[], timeoutMs?: number): Promise<PodmanResult>;
  /** `podman ...args`, rejecting with podman's stderr unless it exits 0; its stdout. */
  ok(args: readonly string[], timeoutMs?: number): Promise<string>;
}

const defaultTimeoutMs = 60_000;

/** podman with the environment scripts/containers-env.sh exports (its storage and containers.conf). */
export async function createPodman(): Promise<Podman> {
  const script = join(projectDir, "scripts/containers-env.sh");
  const { stdout } = await execFileAsync("bash", [
    "-c",
    `source "$1" && printf '%s\\n%s\\n' "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_CONF"`,
    "containers-env",
    script,
  ]);
  const [storageConf, containersConf] = stdout.split("\n");
  if (!storageConf || !containersConf) throw new Error(`${script} exported no CONTAINERS_STORAGE_CONF/CONF`);
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf };

  const run = (args: readonly string[], timeoutMs = defaultTimeoutMs): Promise<PodmanResult> =>
    new Promise((resolve, reject) => {
      execFile(
        "podman",
        args,
        { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 2 ** 20 },
        (error, stdout, stderr) => {
          if (error !== null && typeof error.code !== "number") {
            reject(new Error(`podman ${args.join(" ")}: ${error.message}`));
            return;
          }
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
        },
      );
    });
  return {
    run,
    async ok(args, timeoutMs) {
      const result = await run(args, timeoutMs);
      if (result.code !== 0) {
        throw new Error(`podman ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
      }
      return result.stdout;
    },
  };
}

/**
 * The image under test and the version it must report: the one scripts/build-image.sh builds (the chart's default
 * name, tagged with package.json's version), or WEB_IDENTITY_WEBHOOK_TEST_IMAGE, e.g. a published image.
 */
export async function projectImage(): Promise<{ readonly name: string; readonly version: string }> {
  const version = packageVersion;
  const name =
    process.env.WEB_IDENTITY_WEBHOOK_TEST_IMAGE ||
    `ghcr.io/web-identity-webhook/web-identity-webhook:${version}`;
  return { name, version };
}

/** A container name no other run uses: `web-identity-webhook-test-<purpose>-<random>`. */
export function containerName(purpose: string): string {
  return `web-identity-webhook-test-${purpose}-${randomUUID().slice(0, 8)}`;
}
