// Two replicas against one API, each kind of Secret or caBundle damage: at every moment the caBundle verifies the
// certificate each replica serves, and no replica moves to a new CA's certificate before the rotation grace.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { CertificateController } from "../../../src/certs/controller.js";
import { bundleTrusts, isIssuedBy, parseBundle, readableCertificates } from "../../../src/certs/inspect.js";
import { readMaterial, secretKeys } from "../../../src/certs/material.js";
import {
  caRotationGraceMs,
  configName,
  controllerOptions,
  FakeCertStore,
  FakeClock,
  ns,
  RecordingLogger,
  secretName,
  start,
} from "./fake-cert-store.js";

const minute = 60 * 1000;
const day = 24 * 60 * minute;
const graceMs = caRotationGraceMs;
/** A PEM block whose content is not a certificate: what a bad copy-paste or a broken tool leaves behind. */
const garbageBlock = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

const options = controllerOptions;

interface Replica {
  readonly name: string;
  readonly controller: CertificateController;
  served: X509Certificate | undefined;
}

/**
 * Watches the store and the replicas' installs. The caBundle is read as the API server reads it (blocks that do
 * not parse are skipped); `violations` lists every moment the invariant or the grace did not hold.
 */
class Invariant {
  readonly violations: string[] = [];
  readonly #store: FakeCertStore;
  readonly #clock: FakeClock;
  readonly #replicas: Replica[] = [];
  /** Since when every webhook's caBundle has held each CA, by fingerprint. */
  readonly #heldSince = new Map<string, number>();
  /** The first start (no caBundle yet) is guarded by controller.test.ts; violations count from arm() on. */
  #armed = false;

  constructor(store: FakeCertStore, clock: FakeClock) {
    this.#store = store;
    this.#clock = clock;
    store.afterEveryChange((change) => this.check(`after ${change}`));
  }

  replica(name: string): Replica {
    const logger = new RecordingLogger();
    const replica: Replica = {
      name,
      served: undefined,
      controller: new CertificateController(options, {
        store: this.#store,
        clock: this.#clock,
        random: () => 0.5,
        logger,
        install: (certPem) => this.#installed(replica, new X509Certificate(certPem)),
      }),
    };
    this.#replicas.push(replica);
    return replica;
  }

  arm(): void {
    this.#armed = true;
    this.check("when armed");
  }

  check(moment: string): void {
    const now = this.#clock.now();
    const bundles = this.#bundles();
    for (const ca of bundles[0] ?? []) {
      const held = bundles.every((bundle) => bundle.some((c) => c.fingerprint256 === ca.fingerprint256));
      if (held && !this.#heldSince.has(ca.fingerprint256)) this.#heldSince.set(ca.fingerprint256, now);
    }
    for (const fingerprint of this.#heldSince.keys()) {
      if (!bundles.every((bundle) => bundle.some((c) => c.fingerprint256 === fingerprint)))
        this.#heldSince.delete(fingerprint);
    }
    if (!this.#armed) return;
    for (const replica of this.#replicas) {
      const served = replica.served;
      if (served === undefined) continue;
      for (const [i, bundle] of bundles.entries()) {
        if (!bundleTrusts(bundle, served, now))
          this.violations.push(
            `${moment}: the caBundle of webhook ${i} does not verify the certificate ${replica.name} serves (issued by ${served.issuer})`,
          );
      }
    }
  }

  #installed(replica: Replica, cert: X509Certificate): void {
    const previous = replica.served;
    const now = this.#clock.now();
    const bundles = this.#bundles();
    const previousTrusted =
      previous !== undefined && bundles.every((bundle) => bundleTrusts(bundle, previous, now));
    const issuer = bundles[0]?.find((ca) => isIssuedBy(cert, ca));
    const heldFor = issuer === undefined ? 0 : now - (this.#heldSince.get(issuer.fingerprint256) ?? now);
    if (this.#armed && previousTrusted && heldFor < graceMs)
      this.violations.push(
        `${replica.name} moved from a trusted certificate to one whose CA the caBundle has held for ${heldFor} ms, less than the ${graceMs} ms grace`,
      );
    replica.served = cert;
    this.check(`after ${replica.name} installed a certificate issued by ${cert.issuer}`);
  }

  #bundles(): X509Certificate[][] {
    return (this.#store.webhookConfiguration(configName)?.webhooks ?? []).map((w) =>
      readableCertificates(w.caBundle),
    );
  }
}

interface Cluster {
  readonly store: FakeCertStore;
  readonly clock: FakeClock;
  readonly invariant: Invariant;
  readonly a: Replica;
  readonly b: Replica;
  /** The Secret's data while both replicas served its certificate, before any damage. */
  readonly healthy: Readonly<Record<string, string>>;
  /** The CA both replicas' certificate was issued by, before any damage. */
  readonly firstCa: X509Certificate;
}

const running: CertificateController[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

/** Two replicas that have served one certificate for a day, under the chart's two webhooks. */
async function healthyCluster(): Promise<Cluster> {
  const store = new FakeCertStore();
  store.putWebhookConfiguration(configName, [
    { name: "pod-identity.amazonaws.com", caBundle: "" },
    { name: "pod-identity-v1beta1.amazonaws.com", caBundle: "" },
  ]);
  const clock = new FakeClock(start);
  const invariant = new Invariant(store, clock);
  const a = invariant.replica("replica A");
  const b = invariant.replica("replica B");
  running.push(a.controller, b.controller);
  await a.controller.reconcile();
  await b.controller.reconcile();
  clock.advance(day);
  invariant.arm();
  assert.deepEqual(invariant.violations, [], "the cluster starts healthy");
  const healthy = store.secret(ns, secretName)?.data ?? {};
  const firstCa = parseBundle(healthy[secretKeys.caBundle] ?? "")[0];
  assert.ok(firstCa);
  assert.equal(a.served?.fingerprint256, b.served?.fingerprint256);
  return { store, clock, invariant, a, b, healthy, firstCa };
}

function withoutKeys(data: Readonly<Record<string, string>>, ...keys: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !keys.includes(key)));
}

function cutShort(pem: string | undefined): string {
  return (pem ?? "").slice(0, Math.floor((pem ?? "").length / 2));
}

interface Damage {
  readonly name: string;
  /** Whether recovery must issue a new CA (ca.key is gone): the serving certificate then moves after the grace. */
  readonly newCa: boolean;
  damage(cluster: Cluster): void;
}

const damages: Damage[] = [
  {
    name: "ca.crt cut short inside its PEM block",
    newCa: false,
    damage: ({ store, healthy }) =>
      store.putSecret(ns, secretName, {
        ...healthy,
        [secretKeys.caBundle]: cutShort(healthy[secretKeys.caBundle]),
      }),
  },
  {
    name: "ca.crt garbage",
    newCa: false,
    damage: ({ store, healthy }) =>
      store.putSecret(ns, secretName, { ...healthy, [secretKeys.caBundle]: garbageBlock }),
  },
  {
    name: "ca.key missing",
    newCa: true,
    damage: ({ store, healthy }) => store.putSecret(ns, secretName, withoutKeys(healthy, secretKeys.caKey)),
  },
  {
    name: "ca.key not the key of ca.crt",
    newCa: true,
    damage: ({ store, healthy }) =>
      store.putSecret(ns, secretName, { ...healthy, [secretKeys.caKey]: healthy[secretKeys.key] ?? "" }),
  },
  {
    name: "tls.crt cut short inside its PEM block",
    newCa: false,
    damage: ({ store, healthy }) =>
      store.putSecret(ns, secretName, { ...healthy, [secretKeys.cert]: cutShort(healthy[secretKeys.cert]) }),
  },
  {
    name: "tls.key missing",
    newCa: false,
    damage: ({ store, healthy }) => store.putSecret(ns, secretName, withoutKeys(healthy, secretKeys.key)),
  },
  {
    name: "a Secret with only tls.crt and tls.key",
    newCa: true,
    damage: ({ store, healthy }) =>
      store.putSecret(ns, secretName, withoutKeys(healthy, secretKeys.caBundle, secretKeys.caKey)),
  },
  {
    name: "a Secret with only ca.crt",
    newCa: true,
    damage: ({ store, healthy }) =>
      store.putSecret(
        ns,
        secretName,
        withoutKeys(healthy, secretKeys.caKey, secretKeys.cert, secretKeys.key),
      ),
  },
  {
    name: "a Secret with only ca.crt and ca.key",
    newCa: false,
    damage: ({ store, healthy }) =>
      store.putSecret(ns, secretName, withoutKeys(healthy, secretKeys.cert, secretKeys.key)),
  },
  {
    // The caBundle is then the only copy of the CA, readable only by skipping the garbage, as the API server does.
    name: "a garbage block in the caBundles while the Secret holds only tls.crt and tls.key",
    newCa: true,
    damage: ({ store, healthy, firstCa }) => {
      for (const i of [0, 1]) store.setCaBundle(configName, i, garbageBlock + firstCa.toString());
      store.putSecret(ns, secretName, withoutKeys(healthy, secretKeys.caBundle, secretKeys.caKey));
    },
  },
];

interface Schedule {
  readonly name: string;
  /** Both replicas notice the damage and act on it, in this order. */
  run(cluster: Cluster): Promise<void>;
}

const schedules: Schedule[] = [
  {
    name: "one replica after the other",
    run: async ({ a, b }) => {
      await a.controller.reconcile();
      await b.controller.reconcile();
    },
  },
  {
    name: "both at once",
    run: async ({ store, a, b }) => {
      store.holdSecretReads(2);
      await Promise.all([a.controller.reconcile(), b.controller.reconcile()]);
    },
  },
  {
    name: "the other replica checking between the Secret write and the caBundle write",
    run: async ({ store, a, b }) => {
      const gate = store.holdNext("writeCaBundle");
      const first = a.controller.reconcile();
      const heldBeforeItsCaBundleWrite = await Promise.race([
        gate.reached.then(() => true),
        first.then(() => false),
      ]);
      // A recovery that leaves the caBundle as it is writes none: then B simply follows A.
      if (!heldBeforeItsCaBundleWrite) gate.release();
      await b.controller.reconcile();
      gate.release();
      await first;
    },
  },
];

describe("certificate recovery with two replicas", () => {
  for (const damage of damages) {
    for (const schedule of schedules) {
      it(`keeps both replicas trusted after ${damage.name}, ${schedule.name}`, async () => {
        const cluster = await healthyCluster();
        const { store, clock, invariant, a, b, firstCa } = cluster;

        damage.damage(cluster);
        await schedule.run(cluster);
        // Resyncs, a minute apart, past the grace period: the serving certificate moves to the new CA.
        for (let i = 0; i < 5; i++) {
          clock.advance(minute);
          invariant.check(`${i + 1} min after the damage`);
          await a.controller.reconcile();
          await b.controller.reconcile();
        }

        assert.deepEqual(invariant.violations, []);
        const data = store.secret(ns, secretName)?.data ?? {};
        const reading = readMaterial(data);
        assert.ok(reading.ok, `the Secret is whole again: ${reading.ok ? "" : reading.problem}`);
        const webhooks = store.webhookConfiguration(configName)?.webhooks ?? [];
        assert.deepEqual(
          webhooks.map((w) => w.caBundle),
          [data[secretKeys.caBundle], data[secretKeys.caBundle]],
        );
        assert.ok(
          reading.checked.bundle.some((ca) => ca.fingerprint256 === firstCa.fingerprint256),
          "the caBundle still holds the CA the replicas served under",
        );
        assert.equal(
          reading.checked.ca.fingerprint256 !== firstCa.fingerprint256,
          damage.newCa,
          damage.newCa ? "a new CA leads the bundle" : "the salvaged CA still signs",
        );
        assert.equal(a.served?.fingerprint256, reading.checked.cert.fingerprint256);
        assert.equal(b.served?.fingerprint256, reading.checked.cert.fingerprint256);
        assert.ok(
          isIssuedBy(reading.checked.cert, reading.checked.ca),
          "the certificate is the current CA's",
        );
        assert.ok(a.controller.isReady() && b.controller.isReady());
      });
    }
  }

  it("has a replica that starts during the grace serve the salvaged certificate, not the new CA's", async () => {
    const cluster = await healthyCluster();
    const { store, clock, invariant, a, firstCa } = cluster;
    store.putSecret(ns, secretName, withoutKeys(cluster.healthy, secretKeys.caKey));
    await a.controller.reconcile();

    clock.advance(minute);
    const late = invariant.replica("replica C");
    running.push(late.controller);
    await late.controller.reconcile();

    assert.deepEqual(invariant.violations, []);
    assert.ok(
      late.served && isIssuedBy(late.served, firstCa),
      "C serves the certificate of the CA it is trusted by",
    );
    assert.equal(late.served.fingerprint256, a.served?.fingerprint256);
  });

  it("repairs a caBundle that is all garbage from a whole Secret, without a new CA", async () => {
    const cluster = await healthyCluster();
    const { store, invariant, a, b, healthy } = cluster;

    for (const i of [0, 1]) store.setCaBundle(configName, i, garbageBlock);
    const whileGarbage = invariant.violations.length;
    await a.controller.reconcile();
    await b.controller.reconcile();

    assert.ok(whileGarbage > 0, "the garbage caBundle verified nothing");
    const repaired = invariant.violations.length;
    invariant.check("after both replicas checked");
    assert.equal(invariant.violations.length, repaired, "the replicas' checks repaired the caBundle");
    assert.deepEqual(store.secret(ns, secretName)?.data, healthy);
    assert.deepEqual(
      store.webhookConfiguration(configName)?.webhooks.map((w) => w.caBundle),
      [healthy[secretKeys.caBundle], healthy[secretKeys.caBundle]],
    );
  });
});
