// The release as users get it, on the node: a registry on the node's address, the image and the chart pushed to it
// by scripts/publish.sh (the script CI and the release workflow run), and containerd trusting it to pull.
import { join } from "node:path";
import { packageVersion } from "../../chart/package-version.js";
import { helmPath } from "../../chart/render.js";
import { type Registry, startRegistry } from "../../release/support/registry.js";
import { repoRoot, runCommand } from "../../support/command.js";
import type { TestNode } from "./cluster.js";

export interface PublishedRelease {
  registry: Registry;
  version: string;
  /** oci://<registry>/<chart repository>/web-identity-webhook, what `helm install` is given. */
  chart: string;
  /** <registry>/<image repository>@sha256:..., the image containerd pulls. */
  image: string;
  /** How long the push of the image and the chart took. */
  publishMs: number;
  stop(): Promise<void>;
}

/** `scripts/publish.sh PHASE --registry HOST --ca-file CA`; resolves with the last line it prints. */
async function publish(phase: "image" | "chart", registry: Registry): Promise<string> {
  const { stdout } = await runCommand(
    "bash",
    [
      join(repoRoot, "scripts/publish.sh"),
      phase,
      "--registry",
      registry.host,
      "--ca-file",
      registry.caCertPath,
    ],
    { env: { ...process.env, HELM: helmPath }, timeoutMs: 300_000 },
  );
  const last = stdout.trim().split("\n").at(-1);
  if (last === undefined || last === "") throw new Error(`scripts/publish.sh ${phase} printed no reference`);
  return last;
}

/**
 * Starts a registry on the node's address, publishes the image built by scripts/build-image.sh and the chart
 * to it, and lets the node's containerd pull from it. The registry's files live in the node's work dir.
 */
export async function publishToNode(node: TestNode): Promise<PublishedRelease> {
  const registry = await startRegistry({ dir: join(node.workDir, "registry"), address: node.network.nodeIp });
  try {
    const started = Date.now();
    const [image, chartRef] = await Promise.all([publish("image", registry), publish("chart", registry)]);
    const version = packageVersion;
    const publishMs = Date.now() - started;
    const chart = chartRef.replace(/:[^:/]+$/, "");
    if (chartRef !== `${chart}:${version}`)
      throw new Error(`scripts/publish.sh chart printed ${chartRef}, not a reference to version ${version}`);
    await node.trustRegistry(registry.host, registry.caCertPath);
    return { registry, version, chart, image, publishMs, stop: () => registry.stop() };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}
