// A fake CertStore in memory that answers like the API server where the controller depends on it:
// resourceVersions, a lost race on create-if-exists and on writes at a stale resourceVersion, watch events.

import type { CertificateControllerOptions } from "../../../src/certs/controller.js";
import {
  type CertStore,
  ConcurrentChangeError,
  type StoredSecret,
  type StoredWebhookConfiguration,
  type WatchHandlers,
} from "../../../src/certs/store.js";

type Method = keyof CertStore;

interface Webhook {
  name: string;
  caBundle: string;
}

export class FakeCertStore implements CertStore {
  /** Every call, in order: the method name, suffixed with "!lost-race" or "!failed" when it did not succeed. */
  readonly calls: string[] = [];
  readonly #secrets = new Map<string, StoredSecret>();
  readonly #configs = new Map<string, StoredWebhookConfiguration>();
  readonly #watchers = new Set<{ name: string; handlers: WatchHandlers }>();
  readonly #failures = new Map<Method, unknown[]>();
  readonly #beforeWrite = new Map<Method, () => void>();
  readonly #changeListeners: Array<(change: string) => void> = [];
  readonly #gates = new Map<Method, { arrive(): void; released: Promise<void> }>();
  #version = 0;
  #heldSecretReads: { count: number; release: Array<() => void> } | undefined;

  /** The next call of `method` throws `error` (queued: call again to fail more calls). */
  failNext(method: Method, error: unknown): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
  }

  /** Runs `change` (another writer) right before the next `method` call is applied. */
  beforeNextWrite(method: Method, change: () => void): void {
    this.#beforeWrite.set(method, change);
  }

  /** The next `count` readSecret calls answer together once the last arrives: every reader sees the same state. */
  holdSecretReads(count: number): void {
    this.#heldSecretReads = { count, release: [] };
  }

  /** Calls `listener` right after every change of a stored object, whoever makes it, with the change's name. */
  afterEveryChange(listener: (change: string) => void): void {
    this.#changeListeners.push(listener);
  }

  /**
   * The next `method` call waits, before it is applied, until `release()`; `reached` resolves when it starts
   * waiting. Other calls go on meanwhile: another replica can act between two writes of one replica.
   */
  holdNext(method: Method): { readonly reached: Promise<void>; release(): void } {
    let arrive = () => {};
    let release = () => {};
    const reached = new Promise<void>((resolve) => {
      arrive = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#gates.set(method, { arrive, released });
    return { reached, release };
  }

  /** Another writer (kubectl, helm) creates or replaces a configuration with these webhooks and caBundles. */
  putWebhookConfiguration(name: string, webhooks: readonly Webhook[]): void {
    this.#configs.set(name, {
      resourceVersion: this.#nextVersion(),
      webhooks: webhooks.map((w) => ({ ...w })),
    });
    this.#changed(`another writer set the webhook configuration ${name}`);
    this.#notify(name);
  }

  /** Another writer sets one webhook's caBundle. */
  setCaBundle(name: string, index: number, caBundle: string): void {
    const config = this.#configs.get(name);
    if (config === undefined) throw new Error(`no configuration ${name}`);
    this.putWebhookConfiguration(
      name,
      config.webhooks.map((w, i) => (i === index ? { ...w, caBundle } : w)),
    );
  }

  /** Another writer creates or replaces a Secret. */
  putSecret(namespace: string, name: string, data: Record<string, string>): void {
    this.#secrets.set(`${namespace}/${name}`, { resourceVersion: this.#nextVersion(), data: { ...data } });
    this.#changed(`another writer set the Secret ${namespace}/${name}`);
  }

  secret(namespace: string, name: string): StoredSecret | undefined {
    return this.#secrets.get(`${namespace}/${name}`);
  }

  webhookConfiguration(name: string): StoredWebhookConfiguration | undefined {
    return this.#configs.get(name);
  }

  get secretCount(): number {
    return this.#secrets.size;
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  async readSecret(namespace: string, name: string): Promise<StoredSecret | undefined> {
    await this.#enter("readSecret");
    const held = this.#heldSecretReads;
    if (held !== undefined) {
      await new Promise<void>((resolve) => {
        held.release.push(resolve);
        if (held.release.length === held.count) {
          this.#heldSecretReads = undefined;
          for (const release of held.release) release();
        }
      });
    }
    return this.#done("readSecret", this.#secrets.get(`${namespace}/${name}`));
  }

  async createSecret(
    namespace: string,
    name: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret> {
    await this.#enter("createSecret");
    const key = `${namespace}/${name}`;
    if (this.#secrets.has(key)) return this.#lostRace("createSecret", `secrets "${name}" already exists`);
    const stored = { resourceVersion: this.#nextVersion(), data: { ...data } };
    this.#secrets.set(key, stored);
    this.#changed("createSecret");
    return this.#done("createSecret", stored);
  }

  async updateSecret(
    namespace: string,
    name: string,
    resourceVersion: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret> {
    await this.#enter("updateSecret");
    const key = `${namespace}/${name}`;
    const current = this.#secrets.get(key);
    if (current === undefined) return this.#lostRace("updateSecret", `secrets "${name}" not found`);
    if (current.resourceVersion !== resourceVersion)
      return this.#lostRace("updateSecret", "the object has been modified");
    const stored = { resourceVersion: this.#nextVersion(), data: { ...data } };
    this.#secrets.set(key, stored);
    this.#changed("updateSecret");
    return this.#done("updateSecret", stored);
  }

  async readWebhookConfiguration(name: string): Promise<StoredWebhookConfiguration | undefined> {
    await this.#enter("readWebhookConfiguration");
    return this.#done("readWebhookConfiguration", this.#configs.get(name));
  }

  async writeCaBundle(
    name: string,
    read: StoredWebhookConfiguration,
    caBundle: string,
  ): Promise<StoredWebhookConfiguration> {
    await this.#enter("writeCaBundle");
    const current = this.#configs.get(name);
    if (current === undefined)
      return this.#lostRace("writeCaBundle", `mutatingwebhookconfigurations "${name}" not found`);
    if (current.resourceVersion !== read.resourceVersion)
      return this.#lostRace("writeCaBundle", "the object has been modified");
    const stored = {
      resourceVersion: this.#nextVersion(),
      webhooks: current.webhooks.map((w) => ({ ...w, caBundle })),
    };
    this.#configs.set(name, stored);
    this.#changed("writeCaBundle");
    this.#notify(name);
    return this.#done("writeCaBundle", stored);
  }

  async watchWebhookConfiguration(name: string, handlers: WatchHandlers): Promise<() => void> {
    await this.#enter("watchWebhookConfiguration");
    const watcher = { name, handlers };
    this.#watchers.add(watcher);
    // Like the API server, a new watch first reports the object as ADDED.
    if (this.#configs.has(name)) setImmediate(() => this.#watchers.has(watcher) && handlers.onChange());
    return this.#done("watchWebhookConfiguration", () => {
      this.#watchers.delete(watcher);
    });
  }

  /** Ends every watch, as an API server does on its timeout or a dropped connection. */
  endWatches(error?: unknown): void {
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const w of watchers) w.handlers.onEnd(error);
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** A network round trip: lets other callers interleave, fails if told to, and runs another writer's change. */
  async #enter(method: Method): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const gate = this.#gates.get(method);
    if (gate !== undefined) {
      this.#gates.delete(method);
      gate.arrive();
      await gate.released;
    }
    const failure = this.#failures.get(method)?.shift();
    if (failure !== undefined) {
      this.calls.push(`${method}!failed`);
      throw failure;
    }
    const change = this.#beforeWrite.get(method);
    if (change !== undefined) {
      this.#beforeWrite.delete(method);
      change();
    }
  }

  #done<T>(method: Method, result: T): T {
    this.calls.push(method);
    return result;
  }

  #lostRace(method: Method, message: string): never {
    this.calls.push(`${method}!lost-race`);
    throw new ConcurrentChangeError(message);
  }

  #nextVersion(): string {
    this.#version += 1;
    return String(this.#version);
  }

  #changed(change: string): void {
    for (const listener of this.#changeListeners) listener(change);
  }

  #notify(name: string): void {
    for (const w of this.#watchers)
      if (w.name === name) setImmediate(() => this.#watchers.has(w) && w.handlers.onChange());
  }
}

/** A clock that moves only when told to. */
export class FakeClock {
  #now: number;
  constructor(start: number) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A logger that keeps what it was told, for assertions on the messages. */
export class RecordingLogger {
  readonly lines: { level: string; message: string; fields: object }[] = [];
  debug(fields: object, message: string): void {
    this.lines.push({ level: "debug", message, fields });
  }
  info(fields: object, message: string): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: "warn", message, fields });
  }
  messages(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

/** Where the controllers under test keep their certificate: one namespace, Secret and webhook configuration. */
export const ns = "identity";
export const secretName = "web-identity-webhook-tls";
export const configName = "web-identity-webhook";
/** The fake clock's start. */
export const start = Date.parse("2030-01-01T00:00:00Z");

/** The CA rotation grace of the controllers under test. */
export const caRotationGraceMs = 2 * 60 * 1000;

/** The options every controller under test starts from: fast retries, an hourly resync, a 2-minute CA grace. */
export const controllerOptions: CertificateControllerOptions = {
  secretName,
  secretNamespace: ns,
  webhookConfigName: configName,
  serviceName: "web-identity-webhook",
  serviceNamespace: ns,
  validityDays: 365,
  renewBeforeDays: 30,
  resyncIntervalMs: 60 * 60 * 1000,
  retryBaseMs: 1,
  retryMaxMs: 5,
  caRotationGraceMs,
};
