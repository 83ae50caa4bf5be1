// What `doctor` reads from a cluster and the network, as small types of our own; the checks see only this.

import type { ClusterDocuments } from "../oidc/cluster.js";
import type { HttpGet, HttpResponse } from "../oidc/http.js";

/** A MutatingWebhookConfiguration, reduced to what the checks read. */
export interface WebhookConfiguration {
  readonly name: string;
  readonly webhooks: readonly MutatingWebhook[];
}

export interface MutatingWebhook {
  readonly name: string;
  readonly clientConfig: WebhookClientConfig;
  readonly rules: readonly WebhookRule[];
  readonly sideEffects?: string | undefined;
}

export interface WebhookClientConfig {
  readonly url?: string | undefined;
  readonly service?: WebhookServiceReference | undefined;
  /** Base64 of a PEM bundle, as stored in the object. */
  readonly caBundle?: string | undefined;
}

export interface WebhookServiceReference {
  readonly namespace: string;
  readonly name: string;
  readonly path?: string | undefined;
  /** The Service port; the API server uses 443 when it is unset. */
  readonly port?: number | undefined;
}

export interface WebhookRule {
  readonly operations: readonly string[];
  readonly apiGroups: readonly string[];
  readonly apiVersions: readonly string[];
  readonly resources: readonly string[];
}

export interface ServicePort {
  readonly name?: string | undefined;
  readonly port: number;
}

export interface ServiceInfo {
  readonly ports: readonly ServicePort[];
}

/** One EndpointSlice (discovery.k8s.io/v1) of a Service. */
export interface EndpointSliceInfo {
  readonly ports: readonly { readonly name?: string | undefined; readonly port?: number | undefined }[];
  readonly endpoints: readonly {
    readonly addresses: readonly string[];
    /** `conditions.ready`; unset means ready. */
    readonly ready?: boolean | undefined;
  }[];
}

export interface ServiceAccountInfo {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Where to open a TLS connection to the webhook, and what to trust and expect there. */
export interface WebhookTarget {
  readonly host: string;
  readonly port: number;
  /** SNI and the name the certificate must hold; undefined when `host` is an IP address to check instead. */
  readonly serverName: string | undefined;
  /** PEM bundle, the only CA trusted (as the API server trusts only the caBundle). */
  readonly ca: string;
}

/** An HTTP request sent over the probe's connection once the certificate verified. */
export interface WebhookRequest {
  readonly path: string;
  readonly body: string;
}

/** The certificate a webhook served, as the messages show it. */
export interface ServedCertificate {
  readonly subject: string;
  readonly issuer: string;
  /** The subjectAltName entries, e.g. "DNS:web-identity-webhook.irsa.svc". */
  readonly altNames: readonly string[];
  readonly validTo: string;
}

export type WebhookProbe =
  | { readonly reached: false; readonly error: string }
  | {
      readonly reached: true;
      readonly certificate: ServedCertificate;
      /** Why the certificate does not verify against the CA for the name (node's error code), if it does not. */
      readonly verifyError: string | undefined;
      /** The answer to the request, when the certificate verified. */
      readonly answer: HttpResponse | { readonly error: string } | undefined;
    };

/** A failed API request: `status` is the HTTP status, undefined when the API server was not reached. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/**
 * The cluster and network as `doctor` sees them. Reads that find nothing return undefined; other failures
 * throw (KubeApiError for the API server). The real one is in kube-api.ts.
 */
export interface DoctorApi {
  readWebhookConfiguration(name: string): Promise<WebhookConfiguration | undefined>;
  readService(namespace: string, name: string): Promise<ServiceInfo | undefined>;
  listEndpointSlices(namespace: string, service: string): Promise<readonly EndpointSliceInfo[]>;
  /** Every ServiceAccount of the namespaces (all when undefined), page by page. */
  serviceAccounts(namespaces: readonly string[] | undefined): AsyncIterable<ServiceAccountInfo>;
  /** The API server's own /.well-known/openid-configuration and /openid/v1/jwks. */
  fetchClusterDocuments(): Promise<ClusterDocuments>;
  /** GET `path` of a Service's https port through the API server's service proxy. */
  proxyGet(namespace: string, service: string, port: number, path: string): Promise<HttpResponse>;
  /** Opens a TLS connection, reports the served certificate, and sends `request` if it verified. */
  probeWebhook(target: WebhookTarget, request: WebhookRequest): Promise<WebhookProbe>;
  /** GET over public HTTPS, for the published issuer documents. */
  readonly getPublic: HttpGet;
}
