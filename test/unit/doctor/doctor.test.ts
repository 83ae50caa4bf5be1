import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Check } from "../../../src/doctor/check.js";
import { type DoctorOptions, diagnose } from "../../../src/doctor/doctor.js";
import { createCa } from "./certificates.js";
import { configurationName, podWebhook, service, slicesFor } from "./cluster-objects.js";
import { emptyCluster, type FakeCluster, fakeDoctorApi } from "./fake-doctor-api.js";

const options: DoctorOptions = {
  webhookConfigurationName: configurationName,
  annotationPrefix: "eks.amazonaws.com",
  issuerUrl: undefined,
  namespaces: undefined,
  reviewUid: "diagnose-test",
  now: new Date(),
};

async function collect(cluster: FakeCluster): Promise<Check[]> {
  const checks: Check[] = [];
  for await (const check of diagnose(fakeDoctorApi(cluster), options)) checks.push(check);
  return checks;
}

describe("diagnose", () => {
  it("runs the configuration, serving, ServiceAccount and issuer checks in that order", async () => {
    const ca = await createCa("diagnose CA");
    const cluster = emptyCluster();
    cluster.webhookConfigurations.set(configurationName, {
      name: configurationName,
      webhooks: [podWebhook(ca.cert)],
    });
    cluster.services.set("irsa/web-identity-webhook", service);
    cluster.endpointSlices.set("irsa/web-identity-webhook", slicesFor(["10.0.0.7"]));
    await collect(cluster);
    assert.deepEqual(cluster.calls, [
      `readWebhookConfiguration ${configurationName}`,
      "readService irsa/web-identity-webhook",
      "listEndpointSlices irsa/web-identity-webhook",
      "probeWebhook 10.0.0.7:8443 web-identity-webhook.irsa.svc /mutate",
      "proxyGet irsa/web-identity-webhook:443/healthz",
      "serviceAccounts (all)",
      "fetchClusterDocuments",
    ]);
  });

  it("leaves out the serving checks when the configuration has no usable webhook, and goes on", async () => {
    const cluster = emptyCluster();
    const checks = await collect(cluster);
    assert.deepEqual(cluster.calls, [
      `readWebhookConfiguration ${configurationName}`,
      "serviceAccounts (all)",
      "fetchClusterDocuments",
    ]);
    assert.deepEqual(
      checks.map((check) => check.ok),
      [false, true, false],
    );
  });
});
