// The chart's Service and webhook registration as the API server sees them in a cluster, with the EndpointSlices
// that the EndpointSlice controller would write for the webhook pods written by the test instead.
import type { MutatingWebhookConfiguration, Service } from "../../chart/kinds.js";
import { findObject, renderChart } from "../../chart/render.js";
import type { KubeClient } from "../cluster/kube.js";
import { deleteWebhookConfiguration } from "../support/webhook-configuration.js";

/** The objects the chart renders that route the API server to the webhook. */
export interface ChartRouting {
  service: Service;
  configuration: MutatingWebhookConfiguration;
  /** <service>.<namespace>.svc: the TLS server name the API server asks for and verifies. */
  serviceHost: string;
}

export interface Endpoint {
  /** Names the slice, as a pod names its endpoint. */
  name: string;
  address: string;
  port: number;
}

const configurationsPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

/** `helm template` of the chart; the webhook's clientConfig.service must name the chart's Service. */
export async function renderChartRouting(
  namespace: string,
  valuesFiles: readonly string[],
): Promise<ChartRouting> {
  const objects = await renderChart({}, { namespace, valuesFiles });
  const service = findObject<Service>(objects, "Service");
  const configuration = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
  for (const webhook of configuration.webhooks) {
    const target = webhook.clientConfig.service;
    if (target.name !== service.metadata.name || target.namespace !== namespace)
      throw new Error(
        `webhook ${webhook.name} calls ${target.namespace}/${target.name}, not the chart's Service`,
      );
  }
  return { service, configuration, serviceHost: `${service.metadata.name}.${namespace}.svc` };
}

/**
 * Creates the chart's Service without its selector: with no controller here, the slices below are its only
 * endpoints, and no controller could overwrite them.
 */
export async function createService(client: KubeClient, namespace: string, service: Service): Promise<void> {
  await client.request("POST", `/api/v1/namespaces/${namespace}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: service.metadata.name, labels: service.metadata.labels },
    spec: { type: "ClusterIP", ports: service.spec.ports },
  });
}

/** The name of the slice of one endpoint. */
function sliceName(service: Service, endpoint: Endpoint): string {
  return `${service.metadata.name}-${endpoint.name}`;
}

/**
 * Lists one ready endpoint for the Service's `https` port, in a slice of its own (a slice has one port
 * number, and the replicas share an address, so they differ by port).
 */
export async function addEndpoint(
  client: KubeClient,
  namespace: string,
  service: Service,
  endpoint: Endpoint,
): Promise<void> {
  await client.request("POST", `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: sliceName(service, endpoint),
      labels: {
        "kubernetes.io/service-name": service.metadata.name,
        "endpointslice.kubernetes.io/managed-by": "e2e.web-identity-webhook.test",
      },
    },
    addressType: "IPv4",
    endpoints: [
      { addresses: [endpoint.address], conditions: { ready: true, serving: true, terminating: false } },
    ],
    ports: [{ name: "https", protocol: "TCP", port: endpoint.port }],
  });
}

/** Removes the endpoint, as the EndpointSlice controller does once its pod is gone. */
export async function removeEndpoint(
  client: KubeClient,
  namespace: string,
  service: Service,
  endpoint: Endpoint,
): Promise<void> {
  await client.request(
    "DELETE",
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices/${sliceName(service, endpoint)}`,
  );
}

/** Registers the chart's configuration as rendered, clientConfig.service included, with `caBundle` added. */
export async function registerConfiguration(
  client: KubeClient,
  configuration: MutatingWebhookConfiguration,
  caBundle: string,
): Promise<void> {
  await deleteWebhookConfiguration(client, configuration.metadata.name);
  await client.request("POST", configurationsPath, {
    ...configuration,
    webhooks: configuration.webhooks.map((webhook) => ({
      ...webhook,
      clientConfig: { ...webhook.clientConfig, caBundle },
    })),
  });
}
