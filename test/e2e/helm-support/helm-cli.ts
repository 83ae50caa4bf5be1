// The real helm binary pointed at the test cluster, with its own config, cache and data dirs.
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { HelmError, helmPath, type KubeObject, parseManifests } from "../../chart/render.js";

const run = promisify(execFile);

export interface HelmCli {
  /** Runs `helm args... --kubeconfig <admin>`; rejects with a HelmError on a non-zero exit. */
  run(args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** The objects of a deployed release, from `helm get manifest`. */
  manifest(release: string, namespace: string): Promise<KubeObject[]>;
}

/**
 * A helm that talks to the cluster of `kubeconfigPath` only. Its environment is built here, not inherited:
 * a developer's KUBECONFIG, HELM_NAMESPACE or HELM_KUBECONTEXT must not redirect it, and its config, cache
 * and data (repositories, plugins) live under `dir` instead of the developer's home.
 */
export async function createHelmCli(kubeconfigPath: string, dir: string): Promise<HelmCli> {
  try {
    await access(helmPath, constants.X_OK);
  } catch {
    throw new Error(
      `helm is not installed at ${helmPath}: run "bash scripts/install-helm.sh" first (or set HELM to a helm 3 binary)`,
    );
  }
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    HELM_CONFIG_HOME: join(dir, "config"),
    HELM_CACHE_HOME: join(dir, "cache"),
    HELM_DATA_HOME: join(dir, "data"),
  };
  const helm: HelmCli = {
    async run(args) {
      const all = [...args, "--kubeconfig", kubeconfigPath];
      try {
        return await run(helmPath, all, { env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr;
        if (typeof stderr === "string") throw new HelmError(all, stderr);
        throw error;
      }
    },
    async manifest(release, namespace) {
      const { stdout } = await helm.run(["get", "manifest", release, "--namespace", namespace]);
      return parseManifests(stdout);
    },
  };
  return helm;
}
