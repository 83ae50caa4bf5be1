// A fake DoctorApi: a cluster made of maps a test fills in, and probes that answer as a healthy webhook would.

import type {
  DoctorApi,
  EndpointSliceInfo,
  ServiceAccountInfo,
  ServiceInfo,
  WebhookConfiguration,
  WebhookProbe,
  WebhookRequest,
  WebhookTarget,
} from "../../../src/doctor/api.js";
import type { ClusterDocuments } from "../../../src/oidc/cluster.js";
import type { HttpResponse } from "../../../src/oidc/http.js";

export interface FakeCluster {
  webhookConfigurations: Map<string, WebhookConfiguration>;
  /** Key: "namespace/name". */
  services: Map<string, ServiceInfo>;
  /** Key: "namespace/service". */
  endpointSlices: Map<string, EndpointSliceInfo[]>;
  serviceAccounts: ServiceAccountInfo[];
  clusterDocuments: ClusterDocuments | Error;
  /** The proxied GET's answer, or an error to throw. */
  proxy: HttpResponse | Error;
  /** Answers a probe; the default reaches a trusted webhook that allows the review. */
  probe: (target: WebhookTarget, request: WebhookRequest) => WebhookProbe;
  /** Public HTTPS documents by URL; anything else is refused. */
  published: Map<string, HttpResponse>;
  /** Errors thrown by a method instead of its answer. */
  failures: Partial<Record<"readWebhookConfiguration" | "readService" | "listEndpointSlices", Error>>;
  /** Thrown by serviceAccounts after yielding the ServiceAccounts. */
  serviceAccountsFailure: Error | undefined;
  /** Every call made, in order, for asserting what was asked. */
  calls: string[];
}

export const servedCertificate = {
  subject: "CN=web-identity-webhook.irsa.svc",
  issuer: "CN=web-identity-webhook CA",
  altNames: ["DNS:web-identity-webhook.irsa.svc"],
  validTo: "2027-03-01T12:00:00.000Z",
};

/** The answer of a webhook that allows every review: its uid echoed, allowed true. */
export function allowingAnswer(request: WebhookRequest): HttpResponse {
  const uid = (JSON.parse(request.body) as { request: { uid: string } }).request.uid;
  return { status: 200, body: JSON.stringify({ response: { uid, allowed: true } }) };
}

export function healthyProbe(_target: WebhookTarget, request: WebhookRequest): WebhookProbe {
  return {
    reached: true,
    certificate: servedCertificate,
    verifyError: undefined,
    answer: allowingAnswer(request),
  };
}

export function emptyCluster(): FakeCluster {
  return {
    webhookConfigurations: new Map(),
    services: new Map(),
    endpointSlices: new Map(),
    serviceAccounts: [],
    clusterDocuments: new Error("no cluster documents in this test"),
    proxy: { status: 200, body: "ok" },
    probe: healthyProbe,
    published: new Map(),
    failures: {},
    serviceAccountsFailure: undefined,
    calls: [],
  };
}

export function fakeDoctorApi(cluster: FakeCluster): DoctorApi {
  const failing = (method: keyof FakeCluster["failures"]): void => {
    const failure = cluster.failures[method];
    if (failure !== undefined) throw failure;
  };
  return {
    async readWebhookConfiguration(name) {
      cluster.calls.push(`readWebhookConfiguration ${name}`);
      failing("readWebhookConfiguration");
      return cluster.webhookConfigurations.get(name);
    },
    async readService(namespace, name) {
      cluster.calls.push(`readService ${namespace}/${name}`);
      failing("readService");
      return cluster.services.get(`${namespace}/${name}`);
    },
    async listEndpointSlices(namespace, service) {
      cluster.calls.push(`listEndpointSlices ${namespace}/${service}`);
      failing("listEndpointSlices");
      return cluster.endpointSlices.get(`${namespace}/${service}`) ?? [];
    },
    async *serviceAccounts(namespaces) {
      cluster.calls.push(`serviceAccounts ${namespaces === undefined ? "(all)" : namespaces.join(",")}`);
      for (const serviceAccount of cluster.serviceAccounts) {
        if (namespaces === undefined || namespaces.includes(serviceAccount.namespace)) yield serviceAccount;
      }
      if (cluster.serviceAccountsFailure !== undefined) throw cluster.serviceAccountsFailure;
    },
    async fetchClusterDocuments() {
      cluster.calls.push("fetchClusterDocuments");
      if (cluster.clusterDocuments instanceof Error) throw cluster.clusterDocuments;
      return cluster.clusterDocuments;
    },
    async proxyGet(namespace, service, port, path) {
      cluster.calls.push(`proxyGet ${namespace}/${service}:${port}${path}`);
      if (cluster.proxy instanceof Error) throw cluster.proxy;
      return cluster.proxy;
    },
    async probeWebhook(target, request) {
      cluster.calls.push(
        `probeWebhook ${target.host}:${target.port} ${target.serverName ?? "(no name)"} ${request.path}`,
      );
      return cluster.probe(target, request);
    },
    async getPublic(url) {
      cluster.calls.push(`getPublic ${url}`);
      const response = cluster.published.get(url);
      if (response === undefined)
        throw Object.assign(new Error(`connect ECONNREFUSED for ${url}`), { code: "ECONNREFUSED" });
      return response;
    },
  };
}
