// The chart README's own commands (install, upgrade, uninstall), run on the node against the published release:
// the README's chart path becomes the OCI reference the release was published to, and the image registry the
// test registry; nothing else is changed.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { container, type Pod, pod, serviceAccount } from "../../e2e/support/pods.js";
import { markdownCommands, words } from "../../release/support/readme.js";
import { repoRoot } from "../../support/command.js";
import type { TestNode } from "./cluster.js";
import { hasCredentials } from "./credentials.js";
import type { PublishedRelease } from "./release.js";

const chartReadme = join(repoRoot, "charts/web-identity-webhook/README.md");

/** The release name and namespace the README's commands use. */
export const release = { name: "web-identity-webhook", namespace: "web-identity-webhook" } as const;

/** The commands of the first ```sh block under the chart README's heading `section`, each split into words. */
export async function chartReadmeCommands(section: string): Promise<string[][]> {
  const [block = []] = await markdownCommands(chartReadme, section);
  return block.map(words);
}

/** A README command with the chart path replaced by the published chart and the test registry's image. */
function publishedCommand(words: readonly string[], published: PublishedRelease): string[] {
  const isChart = (word: string): boolean =>
    word.endsWith("charts/web-identity-webhook") || word.startsWith("oci://");
  if (!words.some(isChart)) return [...words];
  return [
    ...words.map((word) => (isChart(word) ? published.chart : word)),
    "--version",
    published.version,
    "--ca-file",
    published.registry.caCertPath,
    "--set",
    `image.registry=${published.registry.host}`,
  ];
}

/** Runs one command as the README says it: helm through the node's helm, kubectl through its kubectl. */
export async function runReadmeCommand(
  node: TestNode,
  published: PublishedRelease,
  words: readonly string[],
  extraArgs: readonly string[] = [],
): Promise<string> {
  const [tool, ...args] = [...publishedCommand(words, published), ...extraArgs];
  if (tool === "helm") return (await node.helm.run(args)).stdout;
  if (tool === "kubectl") return node.kubectl.run(args, { timeoutMs: 300_000 });
  throw new Error(`README command ${words.join(" ")}: only helm and kubectl commands can be run here`);
}

/** Where untilMutating probes whether the API server calls the webhook. */
const probeNamespace = "webhook-probe";

/**
 * Waits until the API server, admitting a dry-run pod of a role-annotated ServiceAccount, has the webhook add
 * credentials: after `rollout status` it may still lack the caBundle or the Service's endpoints for a moment,
 * and under failurePolicy Ignore a pod created then starts without credentials. Resolves with the wait in ms.
 */
export async function untilMutating(node: TestNode, timeoutMs = 30_000): Promise<number> {
  const began = Date.now();
  if ((await node.client.get(`/api/v1/namespaces/${probeNamespace}`)).status === 404) {
    await node.createNamespace(probeNamespace);
    await node.client.request(
      "POST",
      `/api/v1/namespaces/${probeNamespace}/serviceaccounts`,
      serviceAccount("probe", { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/probe" }),
    );
  }
  for (;;) {
    const created = await node.client.request<Pod>(
      "POST",
      `/api/v1/namespaces/${probeNamespace}/pods?dryRun=All`,
      pod({ name: "probe", serviceAccountName: "probe", containers: [container("app")] }),
    );
    if (hasCredentials(created.spec)) return Date.now() - began;
    if (Date.now() - began > timeoutMs)
      throw new Error(`the API server did not call the webhook within ${timeoutMs} ms of the rollout`);
    await sleep(100);
  }
}

/**
 * The README's install block up to (not including) `helm test`: `helm install` from the registry, then
 * `kubectl rollout status`; then waits until the API server calls the webhook (untilMutating). extraArgs go
 * to `helm install` (e.g. --set webhook.optIn.enabled=true).
 */
export async function installWebhook(
  node: TestNode,
  published: PublishedRelease,
  extraArgs: readonly string[] = [],
): Promise<{ helmTest: string[]; mutatingAfterMs: number }> {
  const commands = await chartReadmeCommands("Install");
  const helmTest = commands.find((words) => words[0] === "helm" && words[1] === "test");
  if (helmTest === undefined)
    throw new Error(`the Install section of ${chartReadme} has no helm test command`);
  for (const words of commands) {
    if (words === helmTest) continue;
    const isInstall = words[0] === "helm" && words[1] === "install";
    await runReadmeCommand(node, published, words, isInstall ? extraArgs : []);
  }
  return { helmTest, mutatingAfterMs: await untilMutating(node) };
}
