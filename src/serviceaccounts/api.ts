// What the watch cache needs from the API server, as an interface the tests can fake.

/** The fields of a ServiceAccount object we read; client-node's V1ServiceAccount fits it. */
export interface RawServiceAccount {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly resourceVersion?: string;
    readonly annotations?: Readonly<Record<string, string>>;
  };
}

export interface ServiceAccountPage {
  readonly items: readonly RawServiceAccount[];
  /** The resourceVersion of the whole list, to watch from. */
  readonly resourceVersion: string;
  /** Token of the next page; undefined on the last page. */
  readonly continue: string | undefined;
}

export interface ListRequest {
  readonly limit: number;
  readonly continue?: string;
}

export interface WatchRequest {
  readonly resourceVersion: string;
  /** Asks the API server to end the watch after this long (it is then resumed). */
  readonly timeoutSeconds: number;
}

/** One event of a watch stream of objects of type T. */
export type WatchEvent<T> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: T }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }
  /** A Status in the stream; code 410 means the resourceVersion is too old to watch from. */
  | { readonly type: "ERROR"; readonly code: number | undefined; readonly message: string };

export type ServiceAccountWatchEvent = WatchEvent<RawServiceAccount>;

export interface WatchHandle {
  /** Ends the watch; `onDone` is not called after this. */
  abort(): void;
}

export interface ServiceAccountApi {
  /** One page of the ServiceAccounts of all namespaces. */
  list(request: ListRequest, signal: AbortSignal): Promise<ServiceAccountPage>;
  /** One ServiceAccount, or undefined on 404. */
  get(namespace: string, name: string, signal: AbortSignal): Promise<RawServiceAccount | undefined>;
  /**
   * Streams changes after `resourceVersion` of all namespaces (with bookmarks). Resolves once the request
   * is sent; `onDone` is called once, when the stream ends (no error) or fails (an HTTP error status
   * arrives as a ServiceAccountApiError).
   */
  watch(
    request: WatchRequest,
    onEvent: (event: ServiceAccountWatchEvent) => void,
    onDone: (error?: Error) => void,
  ): Promise<WatchHandle>;
}

/** A failed request; `status` is the HTTP status when the API server answered. */
export class ServiceAccountApiError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServiceAccountApiError";
    this.status = status;
  }
}

/** The HTTP status behind an error, when there is one. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ServiceAccountApiError ? error.status : undefined;
}
