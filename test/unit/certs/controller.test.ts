import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CertificateController, type CertificateControllerOptions } from "../../../src/certs/controller.js";
import { dnsNames, isIssuedBy, keyMatches, parseBundle } from "../../../src/certs/inspect.js";
import { secretKeys } from "../../../src/certs/material.js";
import {
  configName,
  controllerOptions,
  FakeCertStore,
  FakeClock,
  ns,
  RecordingLogger,
  secretName,
  start,
} from "./fake-cert-store.js";

const day = 24 * 60 * 60 * 1000;

const options = controllerOptions;

interface Harness {
  readonly controller: CertificateController;
  readonly installs: { certPem: string; keyPem: string }[];
  readonly logger: RecordingLogger;
}

const running: CertificateController[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

function controllerFor(
  store: FakeCertStore,
  clock: FakeClock,
  overrides: Partial<CertificateControllerOptions> = {},
): Harness {
  const installs: { certPem: string; keyPem: string }[] = [];
  const logger = new RecordingLogger();
  const controller = new CertificateController(
    { ...options, ...overrides },
    {
      store,
      clock,
      random: () => 0.5,
      logger,
      install: (certPem, keyPem) => {
        installs.push({ certPem, keyPem });
      },
    },
  );
  running.push(controller);
  return { controller, installs, logger };
}

/** A cluster with the chart's MutatingWebhookConfiguration: two webhooks, caBundle not set yet. */
function clusterWithWebhook(): FakeCertStore {
  const store = new FakeCertStore();
  store.putWebhookConfiguration(configName, [
    { name: "pod-identity.amazonaws.com", caBundle: "" },
    { name: "pod-identity-v1beta1.amazonaws.com", caBundle: "" },
  ]);
  return store;
}

function storedSecretData(store: FakeCertStore): Readonly<Record<string, string>> {
  const secret = store.secret(ns, secretName);
  assert.ok(secret, "the Secret exists");
  return secret.data;
}

function caBundles(store: FakeCertStore): string[] {
  return (store.webhookConfiguration(configName)?.webhooks ?? []).map((w) => w.caBundle);
}

function lastInstalled(harness: Harness): X509Certificate {
  const last = harness.installs.at(-1);
  assert.ok(last, "a certificate was installed");
  return new X509Certificate(last.certPem);
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe("CertificateController", () => {
  it("creates the Secret on first start, installs its certificate and sets every webhook's caBundle", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));

    await harness.controller.start();
    await harness.controller.reconcile();

    const data = storedSecretData(store);
    assert.deepEqual(Object.keys(data).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    assert.equal(store.count("createSecret"), 1);
    assert.deepEqual(caBundles(store), [data[secretKeys.caBundle], data[secretKeys.caBundle]]);
    assert.equal(store.count("writeCaBundle"), 1);
    assert.deepEqual(harness.installs, [{ certPem: data[secretKeys.cert], keyPem: data[secretKeys.key] }]);
    assert.equal(harness.controller.isReady(), true);
  });

  it("writes every webhook's caBundle before it serves a certificate of the new CA", async () => {
    const store = clusterWithWebhook();
    const bundlesAtInstall: string[][] = [];
    const controller = new CertificateController(options, {
      store,
      clock: new FakeClock(start),
      random: () => 0.5,
      logger: new RecordingLogger(),
      install: () => {
        bundlesAtInstall.push(caBundles(store));
      },
    });
    running.push(controller);

    await controller.reconcile();

    const ca = storedSecretData(store)[secretKeys.caBundle] ?? "";
    assert.deepEqual(bundlesAtInstall, [[ca, ca]]);
  });

  it("issues a serving certificate for the Service's DNS names, signed by the stored CA, matching its key", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));

    await harness.controller.reconcile();

    const data = storedSecretData(store);
    const cert = new X509Certificate(data[secretKeys.cert] ?? "");
    const [ca, ...others] = parseBundle(data[secretKeys.caBundle] ?? "");
    assert.ok(ca);
    assert.equal(others.length, 0);
    assert.deepEqual(dnsNames(cert), [
      "web-identity-webhook",
      "web-identity-webhook.identity",
      "web-identity-webhook.identity.svc",
      "web-identity-webhook.identity.svc.cluster.local",
    ]);
    assert.equal(isIssuedBy(cert, ca), true);
    assert.equal(keyMatches(cert, data[secretKeys.key] ?? ""), true);
    assert.equal(keyMatches(ca, data[secretKeys.caKey] ?? ""), true);
    assert.equal(Date.parse(cert.validTo), start + 365 * day);
    assert.equal(Date.parse(ca.validTo), start + 5 * 365 * day);
  });

  it("ends with one Secret and one certificate when two replicas start at once (the loser adopts the winner's)", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    const a = controllerFor(store, clock);
    const b = controllerFor(store, clock);
    store.holdSecretReads(2);

    await Promise.all([a.controller.start(), b.controller.start()]);
    await Promise.all([a.controller.reconcile(), b.controller.reconcile()]);

    assert.equal(store.secretCount, 1);
    assert.equal(store.count("createSecret"), 1);
    assert.equal(store.count("createSecret!lost-race"), 1);
    const data = storedSecretData(store);
    assert.deepEqual(a.installs, [{ certPem: data[secretKeys.cert], keyPem: data[secretKeys.key] }]);
    assert.deepEqual(b.installs, a.installs);
    assert.deepEqual(caBundles(store), [data[secretKeys.caBundle], data[secretKeys.caBundle]]);
    assert.equal(a.controller.isReady(), true);
    assert.equal(b.controller.isReady(), true);
  });

  it("adopts an existing Secret without writing it", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    await controllerFor(store, clock).controller.reconcile();
    const before = store.secret(ns, secretName);

    const second = controllerFor(store, clock);
    await second.controller.reconcile();

    assert.equal(store.secret(ns, secretName), before);
    assert.equal(second.installs[0]?.certPem, before?.data[secretKeys.cert]);
    assert.equal(second.controller.isReady(), true);
  });

  it("leaves a certificate alone while it is far from expiry", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    const harness = controllerFor(store, clock);
    await harness.controller.reconcile();
    const before = store.secret(ns, secretName);

    clock.advance(300 * day);
    await harness.controller.reconcile();

    assert.equal(store.secret(ns, secretName), before);
    assert.equal(harness.installs.length, 1);
    assert.equal(store.count("writeCaBundle"), 1);
  });

  it("renews the serving certificate within cert-renew-before-days under the same CA, leaving the caBundle as it is", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    const harness = controllerFor(store, clock);
    await harness.controller.reconcile();
    const before = storedSecretData(store);
    const bundleWrites = store.count("writeCaBundle");

    clock.advance(340 * day);
    await harness.controller.reconcile();

    const after = storedSecretData(store);
    assert.equal(after[secretKeys.caBundle], before[secretKeys.caBundle]);
    assert.equal(after[secretKeys.caKey], before[secretKeys.caKey]);
    assert.notEqual(after[secretKeys.cert], before[secretKeys.cert]);
    assert.equal(store.count("updateSecret"), 1);
    assert.equal(store.count("writeCaBundle"), bundleWrites);
    const renewed = lastInstalled(harness);
    assert.equal(renewed.toString(), after[secretKeys.cert]);
    assert.equal(Date.parse(renewed.validTo), start + (340 + 365) * day);
    assert.equal(harness.controller.isReady(), true);
  });

  it("lets one replica renew and the other adopt the renewal when both notice expiry at once", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    const a = controllerFor(store, clock);
    const b = controllerFor(store, clock);
    await a.controller.reconcile();
    await b.controller.reconcile();

    clock.advance(340 * day);
    store.holdSecretReads(2);
    await Promise.all([a.controller.reconcile(), b.controller.reconcile()]);

    assert.equal(store.count("updateSecret"), 1);
    assert.equal(store.count("updateSecret!lost-race"), 1);
    const cert = storedSecretData(store)[secretKeys.cert];
    assert.equal(a.installs.at(-1)?.certPem, cert);
    assert.equal(b.installs.at(-1)?.certPem, cert);
  });

  it("rotates the CA with both CAs in the caBundle, moves the certificate after the grace period, then drops the old CA", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    const harness = controllerFor(store, clock);
    await harness.controller.reconcile();
    const oldCa = storedSecretData(store)[secretKeys.caBundle] ?? "";
    // Keep a valid certificate from the old CA: at day 1500 the first one has expired and is reissued.
    clock.advance(1500 * day);
    await harness.controller.reconcile();
    const oldLeaf = storedSecretData(store)[secretKeys.cert] ?? "";

    clock.advance(300 * day);
    await harness.controller.reconcile();

    const rotated = storedSecretData(store);
    const bundle = parseBundle(rotated[secretKeys.caBundle] ?? "");
    assert.equal(bundle.length, 2);
    assert.equal(bundle[1]?.toString(), oldCa);
    assert.equal(
      rotated[secretKeys.cert],
      oldLeaf,
      "the serving certificate waits until the new CA is trusted",
    );
    assert.deepEqual(caBundles(store), [rotated[secretKeys.caBundle], rotated[secretKeys.caBundle]]);
    assert.equal(harness.controller.isReady(), true);

    await harness.controller.reconcile();
    assert.equal(storedSecretData(store)[secretKeys.cert], oldLeaf, "still within the grace period");

    clock.advance(3 * 60 * 1000);
    await harness.controller.reconcile();
    const moved = storedSecretData(store);
    const newLeaf = new X509Certificate(moved[secretKeys.cert] ?? "");
    assert.ok(bundle[0]);
    assert.equal(isIssuedBy(newLeaf, bundle[0]), true);
    assert.equal(moved[secretKeys.caBundle], rotated[secretKeys.caBundle]);
    assert.equal(lastInstalled(harness).toString(), moved[secretKeys.cert]);
    assert.equal(harness.controller.isReady(), true);

    clock.advance(30 * day);
    await harness.controller.reconcile();
    const pruned = storedSecretData(store);
    assert.equal(pruned[secretKeys.caBundle], bundle[0].toString());
    assert.deepEqual(caBundles(store), [pruned[secretKeys.caBundle], pruned[secretKeys.caBundle]]);
    assert.equal(harness.controller.isReady(), true);
  });

  it("repairs a caBundle that another writer changed", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));
    await harness.controller.reconcile();
    const expected = storedSecretData(store)[secretKeys.caBundle];

    store.setCaBundle(configName, 1, "");
    await harness.controller.reconcile();

    assert.deepEqual(caBundles(store), [expected, expected]);
    assert.equal(store.count("writeCaBundle"), 2);
    assert.equal(harness.controller.isReady(), true);
  });

  it("repairs a blanked caBundle as soon as the watch reports the change", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));
    await harness.controller.start();
    await harness.controller.reconcile();
    const expected = storedSecretData(store)[secretKeys.caBundle];

    store.putWebhookConfiguration(configName, [
      { name: "pod-identity.amazonaws.com", caBundle: "" },
      { name: "pod-identity-v1beta1.amazonaws.com", caBundle: "" },
    ]);

    await waitFor(() => caBundles(store).every((b) => b === expected), "the caBundle is repaired");
    assert.equal(harness.controller.isReady(), true);
  });

  it("reads the configuration again when another writer changes it between the read and the write", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));
    store.beforeNextWrite("writeCaBundle", () =>
      store.putWebhookConfiguration(configName, [
        { name: "pod-identity.amazonaws.com", caBundle: "" },
        { name: "pod-identity-v1beta1.amazonaws.com", caBundle: "" },
        { name: "added-by-helm.amazonaws.com", caBundle: "" },
      ]),
    );

    await harness.controller.reconcile();

    const expected = storedSecretData(store)[secretKeys.caBundle];
    assert.deepEqual(
      store.calls.filter((c) => c.startsWith("writeCaBundle")),
      ["writeCaBundle!lost-race", "writeCaBundle"],
    );
    assert.deepEqual(caBundles(store), [expected, expected, expected]);
  });

  it("is not ready until the webhook configuration's caBundle verifies the served certificate", async () => {
    const store = new FakeCertStore();
    const harness = controllerFor(store, new FakeClock(start));

    await harness.controller.reconcile();
    assert.equal(harness.installs.length, 1, "the certificate is served even without a configuration");
    assert.equal(harness.controller.isReady(), false);

    store.putWebhookConfiguration(configName, [{ name: "pod-identity.amazonaws.com", caBundle: "" }]);
    store.failNext("writeCaBundle", new Error("connection reset"));
    await assert.rejects(harness.controller.reconcile(), /connection reset/);
    assert.equal(harness.controller.isReady(), false);

    await harness.controller.reconcile();
    assert.equal(harness.controller.isReady(), true);
  });

  it("is not ready when the caBundle holds a different CA", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));
    await harness.controller.reconcile();
    const otherStore = clusterWithWebhook();
    await controllerFor(otherStore, new FakeClock(start)).controller.reconcile();
    const otherCa = caBundles(otherStore)[0] ?? "";

    store.setCaBundle(configName, 0, otherCa);
    store.failNext("writeCaBundle", new Error("forbidden"));
    await assert.rejects(harness.controller.reconcile(), /forbidden/);

    assert.equal(harness.controller.isReady(), false);
  });

  it("replaces an unusable Secret through an update at its resourceVersion", async () => {
    const store = clusterWithWebhook();
    store.putSecret(ns, secretName, { [secretKeys.cert]: "not a certificate" });
    const harness = controllerFor(store, new FakeClock(start));

    await harness.controller.reconcile();

    assert.equal(store.count("updateSecret"), 1);
    assert.equal(store.count("createSecret"), 0);
    assert.deepEqual(Object.keys(storedSecretData(store)).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    assert.ok(harness.controller.isReady());
    assert.ok(
      harness.logger.lines.some((l) => JSON.stringify(l.fields).includes("missing tls.key, ca.crt, ca.key")),
    );
  });

  it("reissues the serving certificate under the same CA when the Service's names change", async () => {
    const store = clusterWithWebhook();
    const clock = new FakeClock(start);
    await controllerFor(store, clock).controller.reconcile();
    const before = storedSecretData(store);

    const renamed = controllerFor(store, clock, { serviceName: "irsa" });
    await renamed.controller.reconcile();

    const after = storedSecretData(store);
    assert.equal(after[secretKeys.caBundle], before[secretKeys.caBundle]);
    assert.equal(dnsNames(lastInstalled(renamed))[0], "irsa");
  });

  it("retries API errors with backoff until it installs a certificate", async () => {
    const store = clusterWithWebhook();
    for (let i = 0; i < 3; i++) store.failNext("readSecret", new Error("503 Service Unavailable"));
    const harness = controllerFor(store, new FakeClock(start));

    await harness.controller.start();

    assert.equal(store.count("readSecret!failed"), 3);
    assert.deepEqual(harness.logger.messages("warn"), [
      "certificate check failed",
      "certificate check failed",
      "certificate check failed",
    ]);
    assert.equal(harness.installs.length, 1);
  });

  it("watches again after the watch ends", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start));
    await harness.controller.start();
    await waitFor(() => store.watcherCount === 1, "the watch starts");

    store.endWatches(new Error("connection reset"));

    await waitFor(() => store.watcherCount === 1, "the watch starts again");
    assert.equal(store.count("watchWebhookConfiguration"), 2);
  });

  it("stops its timers and its watch on stop()", async () => {
    const store = clusterWithWebhook();
    const harness = controllerFor(store, new FakeClock(start), { resyncIntervalMs: 2 });
    await harness.controller.start();
    await waitFor(() => store.count("readSecret") > 3, "the loop runs");

    await harness.controller.stop();
    const reads = store.calls.length;
    await sleep(30);

    assert.equal(store.calls.length, reads);
    assert.equal(store.watcherCount, 0);
  });

  it("rejects start() when stopped before any certificate was installed", async () => {
    const store = clusterWithWebhook();
    for (let i = 0; i < 1000; i++) store.failNext("readWebhookConfiguration", new Error("unreachable"));
    const harness = controllerFor(store, new FakeClock(start));

    const started = harness.controller.start();
    await harness.controller.stop();

    await assert.rejects(started, /stopped before it installed a certificate/);
  });
});
