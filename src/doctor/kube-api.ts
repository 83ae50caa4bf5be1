// The real DoctorApi: a cluster through @kubernetes/client-node and the kubeconfig, TLS probes and public HTTPS.

import {
  AdmissionregistrationV1Api,
  ApiException,
  type ConfigurationOptions,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  Observable,
  type V1MutatingWebhookConfiguration,
  type V1ServiceAccountList,
} from "@kubernetes/client-node";
import { fetchClusterDocuments } from "../oidc/cluster.js";
import { getText, issuerGetter } from "../oidc/http.js";
import {
  type DoctorApi,
  type EndpointSliceInfo,
  KubeApiError,
  type ServiceAccountInfo,
  type WebhookConfiguration,
} from "./api.js";
import { type ProbeTimeouts, probeWebhook } from "./tls-probe.js";

export interface KubeDoctorApiOptions {
  /** For each request to the API server and to the public issuer. */
  readonly timeoutMs: number;
  readonly probe: ProbeTimeouts;
  /** An extra CA for the public issuer (local tests). */
  readonly issuerCa?: string | undefined;
  /** HTTPS_PROXY, NO_PROXY, ... for requests to the public issuer. */
  readonly env: NodeJS.ProcessEnv;
}

const serviceAccountPageSize = 500;

/** A DoctorApi over the kubeconfig's current cluster, as its user. */
export function createKubeDoctorApi(kubeConfig: KubeConfig, options: KubeDoctorApiOptions): DoctorApi {
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  const timeout = timeoutOptions(options.timeoutMs);

  async function call<T>(request: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw kubeApiError(error, request, options.timeoutMs);
    }
  }

  async function* listServiceAccounts(namespace: string | undefined): AsyncGenerator<ServiceAccountInfo> {
    let page: string | undefined;
    do {
      const request = { limit: serviceAccountPageSize, ...(page !== undefined ? { _continue: page } : {}) };
      const list: V1ServiceAccountList =
        namespace === undefined
          ? await call("list serviceaccounts --all-namespaces", () =>
              core.listServiceAccountForAllNamespaces(request, timeout),
            )
          : await call(`list serviceaccounts -n ${namespace}`, () =>
              core.listNamespacedServiceAccount({ namespace, ...request }, timeout),
            );
      for (const item of list.items) {
        yield {
          namespace: item.metadata?.namespace ?? namespace ?? "",
          name: item.metadata?.name ?? "",
          annotations: item.metadata?.annotations ?? {},
        };
      }
      page = list.metadata?._continue || undefined;
    } while (page !== undefined);
  }

  return {
    async readWebhookConfiguration(name) {
      const request = `get mutatingwebhookconfiguration ${name}`;
      return orUndefinedWhenNotFound(() =>
        call(request, () => admission.readMutatingWebhookConfiguration({ name }, timeout)).then((object) =>
          toWebhookConfiguration(object, name),
        ),
      );
    },

    async readService(namespace, name) {
      const request = `get service ${name} -n ${namespace}`;
      return orUndefinedWhenNotFound(async () => {
        const service = await call(request, () => core.readNamespacedService({ namespace, name }, timeout));
        return { ports: (service.spec?.ports ?? []).map((port) => ({ name: port.name, port: port.port })) };
      });
    },

    async listEndpointSlices(namespace, service) {
      const list = await call(`list endpointslices -n ${namespace}`, () =>
        discovery.listNamespacedEndpointSlice(
          { namespace, labelSelector: `kubernetes.io/service-name=${service}` },
          timeout,
        ),
      );
      return list.items.map(
        (slice): EndpointSliceInfo => ({
          ports: (slice.ports ?? []).map((port) => ({ name: port.name, port: port.port })),
          // Typed as required, but an empty slice may come with "endpoints": null.
          endpoints: (slice.endpoints ?? []).map((endpoint) => ({
            addresses: endpoint.addresses,
            ready: endpoint.conditions?.ready,
          })),
        }),
      );
    },

    async *serviceAccounts(namespaces) {
      if (namespaces === undefined) {
        yield* listServiceAccounts(undefined);
        return;
      }
      for (const namespace of namespaces) yield* listServiceAccounts(namespace);
    },

    fetchClusterDocuments: () => fetchClusterDocuments(kubeConfig, options.timeoutMs),

    async proxyGet(namespace, service, port, path) {
      const server = kubeConfig.getCurrentCluster()?.server;
      if (server === undefined) throw new KubeApiError("the kubeconfig has no current cluster", undefined);
      const proxy = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/https:${encodeURIComponent(service)}:${port}/proxy`;
      const url = `${server.replace(/\/+$/, "")}${proxy}${path}`;
      const requestOptions = {};
      await kubeConfig.applyToHTTPSOptions(requestOptions);
      try {
        return await getText(url, requestOptions, options.timeoutMs);
      } catch (error) {
        throw new KubeApiError(`GET ${proxy}${path}: ${(error as Error).message}`, undefined);
      }
    },

    probeWebhook: (target, request) => probeWebhook(target, request, options.probe),

    getPublic: issuerGetter({
      ...(options.issuerCa !== undefined ? { ca: options.issuerCa } : {}),
      timeoutMs: options.timeoutMs,
      env: options.env,
    }),
  };
}

/** Client options that abort a request after `timeoutMs`. */
function timeoutOptions(timeoutMs: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

async function orUndefinedWhenNotFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

function kubeApiError(error: unknown, request: string, timeoutMs: number): KubeApiError {
  if (error instanceof ApiException) {
    return new KubeApiError(`${request}: HTTP ${error.code}${statusMessage(error.body)}`, error.code);
  }
  const { name, message } = error instanceof Error ? error : { name: "", message: String(error) };
  const reason =
    name === "AbortError" || name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : message;
  return new KubeApiError(`${request}: ${reason}`, undefined);
}

/** ` (message)` from a Kubernetes Status body, or nothing. */
function statusMessage(body: unknown): string {
  try {
    const status: unknown = typeof body === "string" ? JSON.parse(body) : body;
    if (
      typeof status === "object" &&
      status !== null &&
      "message" in status &&
      typeof status.message === "string"
    )
      return ` (${status.message})`;
  } catch {
    // Not a Status: the code says enough.
  }
  return "";
}

function toWebhookConfiguration(object: V1MutatingWebhookConfiguration, name: string): WebhookConfiguration {
  return {
    name: object.metadata?.name ?? name,
    webhooks: (object.webhooks ?? []).map((webhook) => {
      const { url, service, caBundle } = webhook.clientConfig;
      return {
        name: webhook.name,
        sideEffects: webhook.sideEffects,
        clientConfig: {
          url,
          caBundle,
          service:
            service === undefined
              ? undefined
              : { namespace: service.namespace, name: service.name, path: service.path, port: service.port },
        },
        rules: (webhook.rules ?? []).map((rule) => ({
          operations: rule.operations ?? [],
          apiGroups: rule.apiGroups ?? [],
          apiVersions: rule.apiVersions ?? [],
          resources: rule.resources ?? [],
        })),
      };
    }),
  };
}
