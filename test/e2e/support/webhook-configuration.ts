// The chart's MutatingWebhookConfiguration, rendered by helm, pointed at a webhook outside the cluster.
import { join } from "node:path";
import type { MutatingWebhook, MutatingWebhookConfiguration } from "../../chart/kinds.js";
import { chartDir, findObject, renderChart } from "../../chart/render.js";
import type { KubeClient } from "../cluster/kube.js";
import { KubeRequestError } from "../cluster/kube.js";

/** The chart's values file of the opt-in, fail-closed mode. */
export const optInValuesFile = join(chartDir, "ci", "opt-in-values.yaml");

/** The release namespace the chart's namespaceSelector excludes (renderChart's default). */
export const releaseNamespace = "iam";

export interface UrlClientConfig {
  url: string;
  /** Base64 PEM CA bundle. */
  caBundle: string;
}

/** A webhook of the chart, with every setting as rendered except clientConfig. */
export type RegisteredWebhook = Omit<MutatingWebhook, "clientConfig"> & { clientConfig: UrlClientConfig };

export interface WebhookConfiguration {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "MutatingWebhookConfiguration";
  metadata: { name: string; labels?: Readonly<Record<string, string>> };
  webhooks: RegisteredWebhook[];
}

export interface ChartRendering {
  values?: Readonly<Record<string, unknown>>;
  valuesFiles?: readonly string[];
}

/**
 * `helm template` of the chart, keeping its MutatingWebhookConfiguration and replacing only each webhook's
 * clientConfig (the chart's points at the in-cluster Service), so the API server applies the chart's settings.
 */
export async function renderWebhookConfiguration(
  clientConfig: UrlClientConfig,
  rendering: ChartRendering = {},
): Promise<WebhookConfiguration> {
  const objects = await renderChart(rendering.values ?? {}, {
    namespace: releaseNamespace,
    valuesFiles: rendering.valuesFiles ?? [],
  });
  const rendered = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: {
      name: rendered.metadata.name,
      ...(rendered.metadata.labels === undefined ? {} : { labels: rendered.metadata.labels }),
    },
    webhooks: rendered.webhooks.map((webhook) => ({ ...webhook, clientConfig })),
  };
}

const configurationsPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

export async function createWebhookConfiguration(
  client: KubeClient,
  configuration: WebhookConfiguration,
): Promise<void> {
  await client.request("POST", configurationsPath, configuration);
}

/** Deletes the configuration by name; one that is already gone is fine. */
export async function deleteWebhookConfiguration(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request("DELETE", `${configurationsPath}/${name}`);
  } catch (error) {
    if (!(error instanceof KubeRequestError && error.status === 404)) throw error;
  }
}
