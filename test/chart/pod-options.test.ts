// Operator options of the Deployment and the webhook configuration: rollout strategy, extra volumes, annotations.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Container, Deployment, MutatingWebhookConfiguration } from "./kinds.js";
import { findObject, renderChart } from "./render.js";

async function renderDeployment(values: Record<string, unknown> = {}): Promise<Deployment> {
  return findObject<Deployment>(await renderChart(values), "Deployment");
}

function webhookContainer(deployment: Deployment): Container {
  const [container] = deployment.spec.template.spec.containers;
  assert.ok(container);
  return container;
}

describe("the Deployment strategy", () => {
  it("surges one ready pod before an old one goes by default", async () => {
    assert.deepEqual((await renderDeployment()).spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  it("takes other rolling update bounds, numbers or percentages", async () => {
    const deployment = await renderDeployment({
      strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: "50%" } },
    });
    assert.deepEqual(deployment.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 0, maxUnavailable: "50%" },
    });
  });

  it("drops the rolling update bounds for Recreate, which Kubernetes refuses beside it", async () => {
    assert.deepEqual((await renderDeployment({ strategy: { type: "Recreate" } })).spec.strategy, {
      type: "Recreate",
    });
  });

  it("refuses an unknown strategy type or bound", async () => {
    await assert.rejects(renderChart({ strategy: { type: "BlueGreen" } }), /strategy/);
    await assert.rejects(renderChart({ strategy: { rollingUpdate: { maxSurge: "one" } } }), /maxSurge/);
  });
});

describe("extra volumes", () => {
  it("adds them after the chart's own volumes and mounts", async () => {
    const extraVolumes = [{ name: "corp-ca", configMap: { name: "corp-ca-bundle" } }];
    const extraVolumeMounts = [{ name: "corp-ca", mountPath: "/etc/ssl/corp", readOnly: true }];
    const deployment = await renderDeployment({ extraVolumes, extraVolumeMounts });
    const { volumes } = deployment.spec.template.spec;
    assert.deepEqual(
      volumes?.map((v) => v.name),
      ["tmp", "corp-ca"],
    );
    assert.deepEqual(volumes?.at(-1), extraVolumes[0]);
    const mounts = webhookContainer(deployment).volumeMounts;
    assert.deepEqual(
      mounts?.map((m) => m.name),
      ["tmp", "corp-ca"],
    );
    assert.deepEqual(mounts?.at(-1), extraVolumeMounts[0]);
  });

  it("renders none by default", async () => {
    const deployment = await renderDeployment();
    assert.deepEqual(
      deployment.spec.template.spec.volumes?.map((v) => v.name),
      ["tmp"],
    );
  });

  it("refuses a volume named like one of the chart's", async () => {
    await assert.rejects(
      renderChart({ extraVolumes: [{ name: "tmp", emptyDir: {} }] }),
      /extraVolumes: the name "tmp" is a volume of the chart's own \(tmp, tls, role-policy\)/,
    );
  });

  it("refuses a mount without a mountPath", async () => {
    await assert.rejects(renderChart({ extraVolumeMounts: [{ name: "corp-ca" }] }), /mountPath/);
  });
});

describe("webhook.annotations", () => {
  async function annotations(values: Record<string, unknown>) {
    return findObject<MutatingWebhookConfiguration>(await renderChart(values), "MutatingWebhookConfiguration")
      .metadata.annotations;
  }

  it("annotates the MutatingWebhookConfiguration, and nothing by default", async () => {
    assert.equal(await annotations({}), undefined);
    assert.deepEqual(
      await annotations({
        webhook: { annotations: { "argocd.argoproj.io/sync-options": "ServerSideApply=true" } },
      }),
      { "argocd.argoproj.io/sync-options": "ServerSideApply=true" },
    );
  });

  it("keeps cert-manager's CA injection annotation beside them, and it wins", async () => {
    assert.deepEqual(
      await annotations({
        certificates: { mode: "cert-manager" },
        webhook: {
          annotations: { "example.com/owner": "platform", "cert-manager.io/inject-ca-from": "other/ca" },
        },
      }),
      {
        "example.com/owner": "platform",
        "cert-manager.io/inject-ca-from": "iam/wiw-web-identity-webhook-tls",
      },
    );
  });

  it("refuses a non-string annotation value", async () => {
    await assert.rejects(renderChart({ webhook: { annotations: { replicas: 2 } } }), /annotations/);
  });
});
