// The real kubectl (built with the cluster) pointed at the node's API server, with a home of its own.
import { mkdir } from "node:fs/promises";
import { stringify } from "yaml";
import { runCommand } from "../../support/command.js";

export interface Kubectl {
  /** `kubectl args...`; resolves with stdout, rejects with a CommandError on a non-zero exit. */
  run(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** `kubectl apply -f -` of the objects, as one multi-document YAML. */
  apply(objects: readonly unknown[]): Promise<string>;
}

/**
 * A kubectl that talks to the cluster of kubeconfigPath only: its environment is built here, so a developer's
 * KUBECONFIG or ~/.kube never redirects it, and its discovery cache lives under dir.
 */
export async function createKubectl(binary: string, kubeconfigPath: string, dir: string): Promise<Kubectl> {
  await mkdir(dir, { recursive: true });
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, KUBECONFIG: kubeconfigPath };
  const kubectl: Kubectl = {
    async run(args, options = {}) {
      const { stdout } = await runCommand(binary, args, {
        env,
        timeoutMs: options.timeoutMs ?? 120_000,
        ...(options.input === undefined ? {} : { input: options.input }),
      });
      return stdout;
    },
    apply: (objects) =>
      kubectl.run(["apply", "-f", "-"], { input: objects.map((o) => stringify(o)).join("---\n") }),
  };
  return kubectl;
}
