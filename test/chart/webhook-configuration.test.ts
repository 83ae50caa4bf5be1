// The MutatingWebhookConfiguration: which pods reach the webhook, and what the API server does when it fails.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LabelSelectorRequirement, MutatingWebhook, MutatingWebhookConfiguration } from "./kinds.js";
import { findObject, renderChart } from "./render.js";
import { selects } from "./selectors.js";

async function renderWebhook(
  values: Record<string, unknown> = {},
  namespace = "iam",
): Promise<MutatingWebhook> {
  const config = findObject<MutatingWebhookConfiguration>(
    await renderChart(values, { namespace }),
    "MutatingWebhookConfiguration",
  );
  assert.equal(config.webhooks.length, 1);
  return config.webhooks[0] as MutatingWebhook;
}

const ownPods: LabelSelectorRequirement = {
  key: "app.kubernetes.io/name",
  operator: "NotIn",
  values: ["web-identity-webhook"],
};
const skipLabel: LabelSelectorRequirement = {
  key: "eks.amazonaws.com/skip-pod-identity-webhook",
  operator: "DoesNotExist",
};

describe("the MutatingWebhookConfiguration", () => {
  it("is named after the release and holds one webhook for pod creation", async () => {
    const objects = await renderChart();
    const config = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
    assert.equal(config.metadata.name, "wiw-web-identity-webhook");
    assert.deepEqual(
      config.webhooks.map((w) => w.name),
      ["pod-identity.web-identity-webhook.io"],
    );
    assert.deepEqual(config.webhooks[0]?.rules, [
      {
        operations: ["CREATE"],
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["pods"],
        scope: "Namespaced",
      },
    ]);
  });

  it("calls the Service's /mutate on port 443", async () => {
    const webhook = await renderWebhook();
    assert.deepEqual(webhook.clientConfig.service, {
      name: "wiw-web-identity-webhook",
      namespace: "iam",
      path: "/mutate",
      port: 443,
    });
  });

  it("declares no side effects, both review versions, reinvocation and a 5 s timeout", async () => {
    const webhook = await renderWebhook();
    assert.equal(webhook.sideEffects, "None");
    assert.deepEqual(webhook.admissionReviewVersions, ["v1", "v1beta1"]);
    assert.equal(webhook.reinvocationPolicy, "IfNeeded");
    assert.equal(webhook.matchPolicy, "Equivalent");
    assert.equal(webhook.timeoutSeconds, 5);
  });

  describe("namespaces", () => {
    const namespace = (name: string) => ({ "kubernetes.io/metadata.name": name });

    it("sends kube-system's pods with the defaults, so its role-annotated ServiceAccounts get credentials", async () => {
      const webhook = await renderWebhook({}, "aws-identity");
      assert.deepEqual(webhook.namespaceSelector, {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["aws-identity"] },
        ],
      });
      assert.equal(selects(webhook.namespaceSelector, namespace("kube-system")), true);
      assert.equal(selects(webhook.namespaceSelector, namespace("aws-identity")), false);
      // While the webhook is down kube-system's pods are still created, only without credentials.
      assert.equal(webhook.failurePolicy, "Ignore");
    });

    it("excludes kube-system when the release lives there, naming it once even when also listed", async () => {
      const expected = [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }];
      const listed = { webhook: { namespaceSelector: { excludeNamespaces: ["kube-system"] } } };
      for (const values of [{}, listed]) {
        const webhook = await renderWebhook(values, "kube-system");
        assert.deepEqual(webhook.namespaceSelector.matchExpressions, expected, JSON.stringify(values));
      }
    });

    it("sends every namespace, kube-system included, when the release in kube-system does not exclude its own", async () => {
      const webhook = await renderWebhook(
        { webhook: { namespaceSelector: { excludeReleaseNamespace: false } } },
        "kube-system",
      );
      assert.deepEqual(webhook.namespaceSelector, {});
      assert.deepEqual(webhook.objectSelector.matchExpressions?.[0], ownPods);
    });

    const refusals: { name: string; webhook: Record<string, unknown>; error: RegExp }[] = [
      {
        name: "refuses to send its own namespace under an explicit failurePolicy Fail",
        webhook: { failurePolicy: "Fail", namespaceSelector: { excludeReleaseNamespace: false } },
        error:
          /webhook\.namespaceSelector\.excludeReleaseNamespace=false needs failurePolicy Ignore, but it is Fail: a webhook outage must never refuse a pod in the webhook's own namespace kube-system .*Keep excludeReleaseNamespace true, or set webhook\.failurePolicy=Ignore/,
      },
      {
        name: "refuses to send its own namespace in opt-in mode, whose failurePolicy is Fail",
        webhook: { optIn: { enabled: true }, namespaceSelector: { excludeReleaseNamespace: false } },
        error: /needs failurePolicy Ignore, but it is Fail \(the opt-in mode default\): /,
      },
    ];
    for (const refusal of refusals) {
      it(refusal.name, async () => {
        await assert.rejects(
          renderChart({ webhook: refusal.webhook }, { namespace: "kube-system" }),
          refusal.error,
        );
      });
    }

    it("sends its own namespace in opt-in mode when failurePolicy is set to Ignore", async () => {
      const webhook = await renderWebhook(
        {
          webhook: {
            failurePolicy: "Ignore",
            optIn: { enabled: true },
            namespaceSelector: { excludeReleaseNamespace: false },
          },
        },
        "kube-system",
      );
      assert.deepEqual(webhook.namespaceSelector, {});
    });
  });

  it("adds the user's namespace selector terms after the exclusions", async () => {
    const extra: LabelSelectorRequirement = { key: "team", operator: "In", values: ["payments"] };
    const webhook = await renderWebhook({
      webhook: {
        namespaceSelector: {
          excludeNamespaces: ["kube-system", "kube-public"],
          excludeReleaseNamespace: false,
          matchLabels: { irsa: "on" },
          matchExpressions: [extra],
        },
      },
    });
    assert.deepEqual(webhook.namespaceSelector, {
      matchLabels: { irsa: "on" },
      matchExpressions: [
        { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "kube-public"] },
        extra,
      ],
    });
  });

  it("selects every namespace when nothing is excluded", async () => {
    const webhook = await renderWebhook({
      webhook: { namespaceSelector: { excludeNamespaces: [], excludeReleaseNamespace: false } },
    });
    assert.deepEqual(webhook.namespaceSelector, {});
  });

  it("always excludes the webhook's own pods and pods labelled skip-pod-identity-webhook", async () => {
    const webhook = await renderWebhook();
    assert.deepEqual(webhook.objectSelector, { matchExpressions: [ownPods, skipLabel] });
  });

  it("keeps those exclusions next to the user's object selector", async () => {
    const extra: LabelSelectorRequirement = { key: "tier", operator: "NotIn", values: ["batch"] };
    const webhook = await renderWebhook({
      webhook: { objectSelector: { matchLabels: { aws: "yes" }, matchExpressions: [extra] } },
    });
    assert.deepEqual(webhook.objectSelector, {
      matchLabels: { aws: "yes" },
      matchExpressions: [ownPods, skipLabel, extra],
    });
  });

  describe("failurePolicy", () => {
    const cases: { name: string; webhook: Record<string, unknown>; expected: "Ignore" | "Fail" }[] = [
      { name: "is Ignore by default", webhook: {}, expected: "Ignore" },
      { name: "is Fail in opt-in mode", webhook: { optIn: { enabled: true } }, expected: "Fail" },
      { name: "follows an explicit Fail", webhook: { failurePolicy: "Fail" }, expected: "Fail" },
      {
        name: "follows an explicit Ignore even in opt-in mode",
        webhook: { failurePolicy: "Ignore", optIn: { enabled: true } },
        expected: "Ignore",
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        assert.equal((await renderWebhook({ webhook: c.webhook })).failurePolicy, c.expected);
      });
    }
  });

  describe("in opt-in mode", () => {
    it("sends only pods labelled web-identity-webhook.io/inject=true", async () => {
      const webhook = await renderWebhook({ webhook: { optIn: { enabled: true } } });
      assert.deepEqual(webhook.objectSelector.matchExpressions, [
        ownPods,
        skipLabel,
        { key: "web-identity-webhook.io/inject", operator: "In", values: ["true"] },
      ]);
    });

    it("uses the configured label", async () => {
      const webhook = await renderWebhook({
        webhook: { optIn: { enabled: true, labelKey: "example.com/aws", labelValue: "yes" } },
      });
      assert.deepEqual(webhook.objectSelector.matchExpressions?.at(-1), {
        key: "example.com/aws",
        operator: "In",
        values: ["yes"],
      });
    });
  });

  describe("caBundle", () => {
    it("is left for the webhook to write in self-managed mode (nothing to keep in helm template)", async () => {
      const objects = await renderChart();
      const config = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
      assert.equal(config.webhooks[0]?.clientConfig.caBundle, undefined);
      assert.equal(config.metadata.annotations, undefined);
    });

    it("is injected by cert-manager from the serving Certificate in cert-manager mode", async () => {
      const objects = await renderChart({ certificates: { mode: "cert-manager" } });
      const config = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
      assert.deepEqual(config.metadata.annotations, {
        "cert-manager.io/inject-ca-from": "iam/wiw-web-identity-webhook-tls",
      });
      assert.equal(config.webhooks[0]?.clientConfig.caBundle, undefined);
    });

    it("comes from certificates.secret.caBundle in secret mode", async () => {
      const webhook = await renderWebhook({
        certificates: { mode: "secret", secret: { name: "tls", caBundle: "Q0E=" } },
      });
      assert.equal(webhook.clientConfig.caBundle, "Q0E=");
    });
  });

  it("honours the timeout and reinvocation values", async () => {
    const webhook = await renderWebhook({ webhook: { timeoutSeconds: 10, reinvocationPolicy: "Never" } });
    assert.equal(webhook.timeoutSeconds, 10);
    assert.equal(webhook.reinvocationPolicy, "Never");
  });

  it("refuses a lookup timeout the API server would not wait for", async () => {
    await assert.rejects(
      renderChart({ webhook: { timeoutSeconds: 2 }, config: { lookupTimeout: 2000 } }),
      /config\.lookupTimeout \(2000 ms\) must be less than webhook\.timeoutSeconds \(2 s\)/,
    );
  });
});
