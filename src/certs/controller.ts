// The self-managed certificate lifecycle: keeps the Secret, the served certificate and the webhook's caBundle in step.

import type { X509Certificate } from "node:crypto";
import type { SelfManagedCertificateConfig } from "./config.js";
import { bundleTrusts, isIssuedBy, parseBundle, readableCertificates } from "./inspect.js";
import { servingDnsNames } from "./issue.js";
import { type CertificateMaterial, materialData, readMaterial } from "./material.js";
import { decide, type RenewalPolicy } from "./plan.js";
import { type IssuePolicy, nextMaterial, recoveredMaterial } from "./renew.js";
import { salvage } from "./salvage.js";
import { type CertStore, ConcurrentChangeError, type StoredWebhookConfiguration } from "./store.js";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The slice of a pino logger the controller uses. */
export interface CertLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface CertificateControllerDeps {
  readonly store: CertStore;
  readonly clock: Clock;
  /** Uniform in [0, 1); spreads the retries of replicas apart. */
  readonly random: () => number;
  readonly logger: CertLogger;
  /** Makes the HTTPS server present this certificate and key (PEM) from now on. */
  readonly install: (certPem: string, keyPem: string) => void | Promise<void>;
}

export interface CertificateControllerTimings {
  /** How often the Secret and the caBundle are checked when nothing else prompts it. */
  readonly resyncIntervalMs: number;
  /** First delay after a failed check; doubles per failure up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long the webhook must trust a new CA before the serving certificate moves to it. */
  readonly caRotationGraceMs: number;
}

export type CertificateControllerOptions = Omit<SelfManagedCertificateConfig, "mode"> &
  Partial<CertificateControllerTimings>;

const defaultTimings: CertificateControllerTimings = {
  resyncIntervalMs: 60_000,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  caRotationGraceMs: 120_000,
};
const day = 24 * 60 * 60 * 1000;
/** Lost races in a row before a check counts as failed (and is retried with backoff). */
const maxConcurrentChanges = 5;

/**
 * Creates or adopts the CA and serving certificate in the Secret, renews them before they expire,
 * installs the serving certificate, and keeps every webhook's caBundle equal to the Secret's ca.crt.
 * Replicas cooperate through resourceVersion preconditions: a replica that loses a race re-reads.
 */
export class CertificateController {
  readonly #options: CertificateControllerOptions;
  readonly #deps: CertificateControllerDeps;
  readonly #timings: CertificateControllerTimings;
  readonly #renewal: RenewalPolicy;
  readonly #issue: IssuePolicy;

  #started = false;
  #stopped = false;
  #firstInstall: { resolve(): void; reject(err: Error): void; settled: boolean } | undefined;
  /** Every check runs after the previous one. */
  #queue: Promise<void> = Promise.resolve();
  #cycle: Promise<void> | undefined;
  #pending = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  #watchFailures = 0;
  #stopWatch: (() => void) | undefined;

  #installed: { certPem: string; keyPem: string; cert: X509Certificate } | undefined;
  /** The CAs of each webhook's caBundle, as last read or written; undefined while unknown or absent. */
  #observed: X509Certificate[][] | undefined;
  #webhookMissing = false;
  #trustedSince: { fingerprint: string; since: number } | undefined;

  constructor(options: CertificateControllerOptions, deps: CertificateControllerDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#timings = {
      resyncIntervalMs: options.resyncIntervalMs ?? defaultTimings.resyncIntervalMs,
      retryBaseMs: options.retryBaseMs ?? defaultTimings.retryBaseMs,
      retryMaxMs: options.retryMaxMs ?? defaultTimings.retryMaxMs,
      caRotationGraceMs: options.caRotationGraceMs ?? defaultTimings.caRotationGraceMs,
    };
    const dnsNames = servingDnsNames(options.serviceName, options.serviceNamespace);
    this.#renewal = {
      dnsNames,
      renewBeforeMs: options.renewBeforeDays * day,
      caRotationGraceMs: this.#timings.caRotationGraceMs,
    };
    this.#issue = { dnsNames, leafValidityMs: options.validityDays * day };
  }

  /**
   * Starts checking (now, every resync interval, and when the webhook configuration changes).
   * Resolves once a certificate is installed; retries API errors with backoff until then.
   * Rejects only if stop() comes first.
   */
  start(): Promise<void> {
    if (this.#started) throw new Error("the certificate controller was already started");
    this.#started = true;
    const installed = new Promise<void>((resolve, reject) => {
      this.#firstInstall = { resolve, reject, settled: false };
    });
    // A caller that does not await start() must not crash the process when stop() rejects it.
    installed.catch(() => undefined);
    void this.#watch();
    this.#run();
    return installed;
  }

  /** Stops timers and the watch, and waits for a check in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#watchTimer);
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    this.#settleFirstInstall(
      new Error("the certificate controller stopped before it installed a certificate"),
    );
    await this.#cycle;
    await this.#queue;
  }

  /** True while the served certificate is valid and trusted by the caBundle of every webhook of the configuration. */
  isReady(): boolean {
    const installed = this.#installed;
    const observed = this.#observed;
    if (installed === undefined || observed === undefined || observed.length === 0) return false;
    const now = this.#deps.clock.now();
    return observed.every((bundle) => bundleTrusts(bundle, installed.cert, now));
  }

  /** One check of the Secret, the served certificate and the caBundle; after a lost race it reads again. */
  reconcile(): Promise<void> {
    const next = this.#queue.then(() => this.#reconcileWithRetries());
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #reconcileWithRetries(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#pass();
        return;
      } catch (err) {
        if (!(err instanceof ConcurrentChangeError) || attempt >= maxConcurrentChanges) throw err;
        this.#deps.logger.info(
          { attempt, reason: err.message },
          "another writer changed the object first; reading it again",
        );
      }
    }
  }

  async #pass(): Promise<void> {
    const { store, clock, logger } = this.#deps;
    const { secretName, secretNamespace, webhookConfigName } = this.#options;
    // The configuration is read before the Secret: if another replica's caBundle write is visible
    // here, its Secret write (made before it) is visible below, so no replica writes an older bundle.
    const webhook = await store.readWebhookConfiguration(webhookConfigName);
    this.#observe(webhook);
    const secret = await store.readSecret(secretNamespace, secretName);
    const reading = secret === undefined ? undefined : readMaterial(secret.data);
    const now = clock.now();
    const decision = decide(
      {
        reading,
        now,
        caTrustedForMs: this.#caTrustedFor(reading?.ok ? reading.checked.ca : undefined, webhook, now),
      },
      this.#renewal,
    );

    let material: CertificateMaterial;
    if (decision.kind === "keep") {
      material = decision.material;
    } else {
      const secretRef = `${secretNamespace}/${secretName}`;
      logger.info(
        { secret: secretRef, action: decision.kind, reason: decision.reason },
        "updating the certificate Secret",
      );
      const checked = reading?.ok ? reading.checked : undefined;
      if (decision.kind === "recover" || checked === undefined) {
        const salvaged = salvage(secret?.data ?? {}, webhook?.webhooks.map((w) => w.caBundle) ?? [], now);
        logger.info(
          {
            secret: secretRef,
            keptAuthorities: salvaged.authorities.length,
            newAuthority: salvaged.signer === undefined,
            keptServingCertificate: salvaged.serving !== undefined,
          },
          "rebuilding the certificate Secret from what still parses in it and in the caBundle",
        );
        material = await recoveredMaterial(salvaged, now, this.#issue);
      } else {
        material = await nextMaterial(decision, checked, now, this.#issue);
      }
      if (secret === undefined) await store.createSecret(secretNamespace, secretName, materialData(material));
      else
        await store.updateSecret(secretNamespace, secretName, secret.resourceVersion, materialData(material));
    }

    if (webhook === undefined) {
      if (!this.#webhookMissing) {
        logger.warn(
          { webhookConfiguration: webhookConfigName },
          "the MutatingWebhookConfiguration does not exist; its caBundle will be set once it does",
        );
      }
      this.#webhookMissing = true;
      await this.#install(material, undefined, Number.POSITIVE_INFINITY);
      return;
    }
    this.#webhookMissing = false;
    // The caBundle is written before the certificate is installed, so no replica serves a certificate of a CA
    // that the caBundle does not hold yet.
    let current = webhook;
    const stale = webhook.webhooks.filter((w) => w.caBundle !== material.caBundlePem).map((w) => w.name);
    if (stale.length > 0) {
      current = await store.writeCaBundle(webhookConfigName, webhook, material.caBundlePem);
      logger.info(
        { webhookConfiguration: webhookConfigName, webhooks: stale },
        "set the caBundle of the webhooks",
      );
      this.#observe(current);
    }
    const [materialCa] = parseBundle(material.caBundlePem);
    await this.#install(material, materialCa, this.#caTrustedFor(materialCa, current, now));
  }

  /**
   * Serves `material`'s certificate, except while it is from `ca` (the Secret's current CA), the webhooks have
   * trusted `ca` for less than the rotation grace (the API server may not have loaded it yet) and the certificate
   * served now is still trusted: then a later check moves it, as the rotate-ca path moves the Secret's.
   */
  async #install(
    material: CertificateMaterial,
    ca: X509Certificate | undefined,
    caTrustedForMs: number,
  ): Promise<void> {
    const current = this.#installed;
    if (current?.certPem === material.certPem && current.keyPem === material.keyPem) return;
    const cert = parseBundle(material.certPem)[0];
    if (cert === undefined) throw new Error("the serving certificate to install does not parse");
    const grace = this.#timings.caRotationGraceMs;
    if (
      current !== undefined &&
      ca !== undefined &&
      caTrustedForMs < grace &&
      isIssuedBy(cert, ca) &&
      this.isReady()
    ) {
      this.#deps.logger.info(
        { serial: cert.serialNumber, issuer: cert.issuer, caTrustedForMs, graceMs: grace },
        "keeping the served certificate until the webhooks have trusted the next one's CA for the grace period",
      );
      return;
    }
    await this.#deps.install(material.certPem, material.keyPem);
    this.#installed = { certPem: material.certPem, keyPem: material.keyPem, cert };
    this.#deps.logger.info(
      { serial: cert.serialNumber, notAfter: cert.validTo, issuer: cert.issuer },
      "installed the serving certificate",
    );
    this.#settleFirstInstall();
  }

  #observe(webhook: StoredWebhookConfiguration | undefined): void {
    this.#observed = webhook?.webhooks.map((w) => readableCertificates(w.caBundle));
  }

  /** How long every webhook has trusted `ca` (as this replica saw it); forever when there are no webhooks. */
  #caTrustedFor(
    ca: X509Certificate | undefined,
    webhook: StoredWebhookConfiguration | undefined,
    now: number,
  ): number {
    // Without webhooks nobody calls us, so nobody can be cut off by moving to a new CA.
    if (webhook === undefined || webhook.webhooks.length === 0) return Number.POSITIVE_INFINITY;
    const observed = this.#observed ?? [];
    const trusted =
      ca !== undefined &&
      observed.length > 0 &&
      observed.every((bundle) => bundle.some((c) => c.fingerprint256 === ca.fingerprint256));
    if (!trusted || ca === undefined) {
      this.#trustedSince = undefined;
      return 0;
    }
    if (this.#trustedSince?.fingerprint !== ca.fingerprint256)
      this.#trustedSince = { fingerprint: ca.fingerprint256, since: now };
    return now - this.#trustedSince.since;
  }

  /** Runs a check now, or right after the one in progress. */
  #run(): void {
    if (this.#stopped) return;
    if (this.#cycle !== undefined) {
      this.#pending = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#cycle = this.#runCycle().finally(() => {
      this.#cycle = undefined;
    });
  }

  async #runCycle(): Promise<void> {
    let delay: number;
    try {
      await this.reconcile();
      this.#failures = 0;
      delay = this.#pending ? 0 : this.#timings.resyncIntervalMs;
    } catch (err) {
      this.#failures++;
      delay = this.#backoff(this.#failures);
      this.#deps.logger.warn(
        { err, failures: this.#failures, retryInMs: Math.round(delay) },
        "certificate check failed",
      );
    }
    this.#pending = false;
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#run(), delay);
  }

  async #watch(): Promise<void> {
    if (this.#stopped) return;
    const { store, logger } = this.#deps;
    try {
      const stop = await store.watchWebhookConfiguration(this.#options.webhookConfigName, {
        onChange: () => this.#run(),
        onEnd: (error) => {
          this.#stopWatch = undefined;
          if (this.#stopped) return;
          this.#watchFailures = error === undefined ? 0 : this.#watchFailures + 1;
          const delay = this.#backoff(Math.max(1, this.#watchFailures));
          // A server-side timeout ends every watch now and then; an error (e.g. 403) is worth a warning.
          if (error === undefined)
            logger.debug({ restartInMs: Math.round(delay) }, "the watch of the webhook configuration ended");
          else
            logger.warn(
              { err: error, restartInMs: Math.round(delay) },
              "the watch of the webhook configuration failed",
            );
          this.#rewatchAfter(delay);
        },
      });
      if (this.#stopped) stop();
      else this.#stopWatch = stop;
    } catch (err) {
      this.#watchFailures++;
      const delay = this.#backoff(this.#watchFailures);
      logger.warn({ err, restartInMs: Math.round(delay) }, "cannot watch the webhook configuration");
      this.#rewatchAfter(delay);
    }
  }

  #rewatchAfter(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#watchTimer);
    this.#watchTimer = setTimeout(() => void this.#watch(), delay);
  }

  /** Exponential, capped, with jitter so replicas do not retry in lockstep. */
  #backoff(failures: number): number {
    const { retryBaseMs, retryMaxMs } = this.#timings;
    return Math.min(retryMaxMs, retryBaseMs * 2 ** (failures - 1)) * (0.5 + this.#deps.random() / 2);
  }

  #settleFirstInstall(error?: Error): void {
    const first = this.#firstInstall;
    if (first === undefined || first.settled) return;
    first.settled = true;
    if (error === undefined) first.resolve();
    else first.reject(error);
  }
}
