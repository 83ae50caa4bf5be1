// The chart's own pods: the webhook's are never sent to the webhook, in any namespace or mode, and the helm
// test pod is neither sent to it nor counted as a webhook pod by any selector of the chart.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type {
  Deployment,
  LabelSelector,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  NetworkPolicy,
  Pod,
  PodDisruptionBudget,
  Service,
} from "./kinds.js";
import { chartDir, findObject, findObjects, type KubeObject, renderChart } from "./render.js";
import { selects } from "./selectors.js";

interface Rendering {
  readonly name: string;
  readonly values?: Record<string, unknown>;
  readonly valuesFiles?: readonly string[];
  readonly namespace?: string;
  /** Labels of a user's pod the webhook is sent: default {app: payments}. */
  readonly userPod?: Readonly<Record<string, string>> | undefined;
}

const ciDir = join(chartDir, "ci");
const ciUserPods: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "opt-in-values.yaml": { app: "payments", "example.com/aws-credentials": "enabled" },
};
const renderings: Rendering[] = [
  { name: "the default values" },
  ...readdirSync(ciDir)
    .filter((file) => file.endsWith("-values.yaml"))
    .sort()
    .map((file) => ({ name: `ci/${file}`, valuesFiles: [join(ciDir, file)], userPod: ciUserPods[file] })),
  { name: "the release in kube-system", namespace: "kube-system" },
  {
    name: "the release in kube-system, kube-system not excluded",
    namespace: "kube-system",
    values: { webhook: { namespaceSelector: { excludeReleaseNamespace: false } } },
  },
  { name: "failurePolicy Fail for every pod", values: { webhook: { failurePolicy: "Fail" } } },
  {
    name: "opt-in mode, the webhook's own pods carrying the opt-in label",
    values: {
      webhook: { optIn: { enabled: true } },
      podLabels: { "web-identity-webhook.io/inject": "true" },
    },
    userPod: { app: "payments", "web-identity-webhook.io/inject": "true" },
  },
  { name: "a nameOverride", values: { nameOverride: "irsa" } },
];

interface Rendered {
  readonly webhook: MutatingWebhook;
  readonly webhookPod: Readonly<Record<string, string>>;
  readonly testPod: Readonly<Record<string, string>>;
  readonly objects: readonly KubeObject[];
}

async function render(rendering: Rendering): Promise<Rendered> {
  const objects = await renderChart(rendering.values ?? {}, {
    valuesFiles: rendering.valuesFiles ?? [],
    namespace: rendering.namespace ?? "iam",
  });
  const configuration = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
  assert.equal(configuration.webhooks.length, 1);
  return {
    webhook: configuration.webhooks[0] as MutatingWebhook,
    webhookPod: findObject<Deployment>(objects, "Deployment").spec.template.metadata.labels,
    testPod: findObject<Pod>(objects, "Pod").metadata.labels ?? {},
    objects,
  };
}

interface PodAntiAffinity {
  readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly {
    readonly podAffinityTerm: { readonly labelSelector: LabelSelector };
  }[];
  readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly {
    readonly labelSelector: LabelSelector;
  }[];
}

/** Every selector of the chart that picks webhook pods, named by where it is. */
function podSelectors(objects: readonly KubeObject[]): [string, LabelSelector][] {
  const deployment = findObject<Deployment>(objects, "Deployment");
  const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
  const anti = deployment.spec.template.spec.affinity?.podAntiAffinity as PodAntiAffinity | undefined;
  return [
    ["Deployment spec.selector", deployment.spec.selector],
    ...spread.map((c, i): [string, LabelSelector] => [`topologySpreadConstraints[${i}]`, c.labelSelector]),
    ...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((term): [string, LabelSelector] => [
      "preferred podAntiAffinity",
      term.podAffinityTerm.labelSelector,
    ]),
    ...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((term): [string, LabelSelector] => [
      "required podAntiAffinity",
      term.labelSelector,
    ]),
    ["Service spec.selector", { matchLabels: findObject<Service>(objects, "Service").spec.selector }],
    ...findObjects<PodDisruptionBudget>(objects, "PodDisruptionBudget").map(
      (pdb): [string, LabelSelector] => ["PodDisruptionBudget spec.selector", pdb.spec.selector],
    ),
    ...findObjects<NetworkPolicy>(objects, "NetworkPolicy").map((policy): [string, LabelSelector] => [
      "NetworkPolicy spec.podSelector",
      policy.spec.podSelector,
    ]),
  ];
}

describe("the chart's own pods", () => {
  for (const rendering of renderings) {
    describe(`with ${rendering.name}`, () => {
      it("never sends the webhook's pods nor the helm test pod to the webhook, but does send a user's pod", async () => {
        const { webhook, webhookPod, testPod } = await render(rendering);
        assert.equal(selects(webhook.objectSelector, webhookPod), false, JSON.stringify(webhookPod));
        assert.equal(selects(webhook.objectSelector, testPod), false, JSON.stringify(testPod));
        // The selector is not one that refuses everything: a user's pod (opted in, in opt-in mode) passes.
        const userPod = rendering.userPod ?? { app: "payments" };
        assert.equal(selects(webhook.objectSelector, userPod), true, JSON.stringify(webhook.objectSelector));
      });

      it("selects the webhook's pods, and never the helm test pod, with every pod selector", async () => {
        const { objects, webhookPod, testPod } = await render(rendering);
        const selectors = podSelectors(objects);
        assert.ok(selectors.length >= 3, selectors.map(([where]) => where).join(", "));
        for (const [where, selector] of selectors) {
          assert.equal(selects(selector, webhookPod), true, `${where} misses the webhook's pods`);
          assert.equal(selects(selector, testPod), false, `${where} selects the helm test pod`);
        }
      });
    });
  }

  for (const key of ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version"]) {
    it(`refuses podLabels that would replace the chart's ${key} on the webhook's pods`, async () => {
      await assert.rejects(
        renderChart({ podLabels: { [key]: "mine" } }),
        new RegExp(`podLabels\\.${key.replaceAll(".", "\\.")} is a label the chart sets on its pods itself`),
      );
    });
  }

  it("checks a NetworkPolicy and a PodDisruptionBudget in some rendering", async () => {
    const policy = renderings.find((r) => r.name === "ci/ha-metrics-networkpolicy-values.yaml");
    assert.ok(policy, "ci/ha-metrics-networkpolicy-values.yaml is among the renderings");
    const where = podSelectors((await render(policy)).objects).map(([name]) => name);
    assert.ok(where.includes("NetworkPolicy spec.podSelector"), where.join(", "));
    assert.ok(where.includes("PodDisruptionBudget spec.selector"), where.join(", "));
  });
});
