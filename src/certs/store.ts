// What the certificate controller needs from the cluster: one Secret and one MutatingWebhookConfiguration.

/** A Secret as read, with its data decoded to text. */
export interface StoredSecret {
  readonly resourceVersion: string;
  readonly data: Readonly<Record<string, string>>;
}

/** The parts of a MutatingWebhookConfiguration the controller reads. */
export interface StoredWebhookConfiguration {
  readonly resourceVersion: string;
  /** One entry per webhook, in order; caBundle decoded to PEM text, "" when unset. */
  readonly webhooks: readonly { readonly name: string; readonly caBundle: string }[];
}

export interface WatchHandlers {
  /** The object was added, changed or deleted (or the watch started and reports it). */
  onChange(): void;
  /** The watch ended (server timeout, network error); the caller decides when to watch again. */
  onEnd(error?: unknown): void;
}

/**
 * Thrown when a write lost a race: the object was created, changed or deleted since it was read
 * (HTTP 409 AlreadyExists or Conflict, or 404 on an update). The caller re-reads and decides again.
 */
export class ConcurrentChangeError extends Error {
  override readonly name = "ConcurrentChangeError";
}

/**
 * Secrets and the MutatingWebhookConfiguration, as the controller uses them. Every write is
 * conditional: create fails if the object exists, updates carry the resourceVersion that was read.
 */
export interface CertStore {
  /** The Secret, or undefined when it does not exist. */
  readSecret(namespace: string, name: string): Promise<StoredSecret | undefined>;
  /** Creates a kubernetes.io/tls Secret; ConcurrentChangeError if it already exists. */
  createSecret(
    namespace: string,
    name: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret>;
  /** Replaces the Secret's data if it is still at resourceVersion; ConcurrentChangeError otherwise. */
  updateSecret(
    namespace: string,
    name: string,
    resourceVersion: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret>;
  /** The configuration, or undefined when it does not exist. */
  readWebhookConfiguration(name: string): Promise<StoredWebhookConfiguration | undefined>;
  /**
   * Sets every webhook's clientConfig.caBundle (and nothing else) if the configuration is still
   * at the resourceVersion of `read`; ConcurrentChangeError otherwise.
   */
  writeCaBundle(
    name: string,
    read: StoredWebhookConfiguration,
    caBundle: string,
  ): Promise<StoredWebhookConfiguration>;
  /** Watches the configuration; resolves to a function that stops the watch. */
  watchWebhookConfiguration(name: string, handlers: WatchHandlers): Promise<() => void>;
}
