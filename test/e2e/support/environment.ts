// One e2e environment: the test cluster, the built webhook running against it, and the chart's webhook configuration.

import { freePort } from "../../support/ports.js";
import { startCluster, type TestCluster } from "../cluster/cluster.js";
import { type ApiRequest, type ApiResponse, createApiRequest } from "./api-request.js";
import { eventually } from "./eventually.js";
import { comparableSpec, container, type Pod, type PodSpec, pod, serviceAccount } from "./pods.js";
import { createServingCertificate, type ServingCertificate } from "./serving-certificate.js";
import {
  type ChartRendering,
  createWebhookConfiguration,
  deleteWebhookConfiguration,
  releaseNamespace,
  renderWebhookConfiguration,
  type WebhookConfiguration,
} from "./webhook-configuration.js";
import { startWebhookProcess, type WebhookProcess } from "./webhook-process.js";

/** The role of the probe pods that tell whether the API server calls the webhook. */
const probeRoleArn = "arn:aws:iam::111122223333:role/e2e-probe";
const probeNamespace = "webhook-probe";

export interface E2eEnvironment {
  cluster: TestCluster;
  webhook: WebhookProcess;
  certificate: ServingCertificate;
  api: ApiRequest;
  /** The chart's MutatingWebhookConfiguration as last registered. */
  configuration(): WebhookConfiguration;
  /** Creates a namespace (and its default ServiceAccount) named `${purpose}-N`. */
  newNamespace(purpose: string): Promise<string>;
  createServiceAccount(namespace: string, name: string, annotations?: Record<string, string>): Promise<void>;
  /** Creates the pod and returns it as stored, with the warnings of the response; throws on a refusal. */
  createPod(namespace: string, manifest: Pod): Promise<{ pod: Pod; warnings: string[] }>;
  /** Creates the pod (or only admits it, with dryRun) and returns the response, whatever its status. */
  tryCreatePod(namespace: string, manifest: Pod, options?: { dryRun?: boolean }): Promise<ApiResponse>;
  /**
   * The spec the API server stores for the same pod when the webhook is not called (in the release namespace,
   * which the chart's namespaceSelector excludes), comparable with comparableSpec.
   */
  specWithoutWebhook(manifest: Pod): Promise<PodSpec>;
  /** Replaces the chart's configuration with another rendering of the chart, calling `target` (default: webhook). */
  registerChartConfiguration(
    rendering?: ChartRendering,
    target?: WebhookProcess,
  ): Promise<WebhookConfiguration>;
  /** Starts another webhook process with the same certificate, as the identity of `kubeconfigPath`. */
  startAnotherWebhook(logName: string, kubeconfigPath: string): Promise<WebhookProcess>;
  /** Whether the API server now sends pods (with `labels`) in a selected namespace to our webhook. */
  isMutating(labels?: Record<string, string>): Promise<boolean>;
  /** Resolves once isMutating(labels) holds. */
  waitUntilMutating(labels?: Record<string, string>): Promise<void>;
  /** Stops the webhook and the cluster; safe after a failed start. */
  stop(): Promise<void>;
}

/** Starts the cluster and the webhook, registers the chart's default configuration and waits until it applies. */
export async function startEnvironment(): Promise<E2eEnvironment> {
  const cluster = await startCluster();
  let webhook: WebhookProcess | undefined;
  try {
    const certificate = await createServingCertificate(cluster.dir);
    webhook = await startWebhookProcess({
      kubeconfigPath: cluster.kubeconfigPath,
      certificate,
      port: await freePort(),
      metricsPort: await freePort(),
      dir: cluster.dir,
    });
    const environment = createEnvironment(cluster, webhook, certificate);
    await cluster.createNamespace(releaseNamespace);
    await cluster.createNamespace(probeNamespace);
    await environment.createServiceAccount(probeNamespace, "probe", {
      "eks.amazonaws.com/role-arn": probeRoleArn,
    });
    await environment.registerChartConfiguration();
    await environment.waitUntilMutating();
    return environment;
  } catch (error) {
    await webhook?.stop();
    await cluster.stop();
    throw error;
  }
}

function createEnvironment(
  cluster: TestCluster,
  webhook: WebhookProcess,
  certificate: ServingCertificate,
): E2eEnvironment {
  const api = createApiRequest(cluster.credentials);
  const baselineServiceAccounts = new Set<string>();
  let namespaces = 0;
  let registered: WebhookConfiguration | undefined;

  const tryCreatePod = (namespace: string, manifest: Pod, options: { dryRun?: boolean } = {}) =>
    api("POST", `/api/v1/namespaces/${namespace}/pods${options.dryRun ? "?dryRun=All" : ""}`, manifest);

  const isMutating = async (labels: Record<string, string> = {}): Promise<boolean> => {
    const probe = pod({
      generateName: "probe-",
      serviceAccountName: "probe",
      labels,
      containers: [container("probe")],
    });
    const res = await tryCreatePod(probeNamespace, probe, { dryRun: true });
    if (res.status !== 201)
      throw new Error(`dry-run probe pod: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    return (res.body as Pod).spec.volumes?.some((volume) => volume.name === "aws-iam-token") ?? false;
  };

  const environment: E2eEnvironment = {
    cluster,
    webhook,
    certificate,
    api,
    configuration() {
      if (registered === undefined) throw new Error("no chart configuration is registered yet");
      return registered;
    },
    async newNamespace(purpose) {
      namespaces += 1;
      const name = `${purpose}-${namespaces}`;
      await cluster.createNamespace(name);
      return name;
    },
    async createServiceAccount(namespace, name, annotations = {}) {
      await cluster.client.request(
        "POST",
        `/api/v1/namespaces/${namespace}/serviceaccounts`,
        serviceAccount(name, annotations),
      );
    },
    async createPod(namespace, manifest) {
      const res = await tryCreatePod(namespace, manifest);
      if (res.status !== 201) {
        throw new Error(`creating a pod in ${namespace}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
      }
      return { pod: res.body as Pod, warnings: res.warnings };
    },
    tryCreatePod,
    async specWithoutWebhook(manifest) {
      const name = manifest.spec.serviceAccountName ?? "default";
      if (name !== "default" && !baselineServiceAccounts.has(name)) {
        await environment.createServiceAccount(releaseNamespace, name);
        baselineServiceAccounts.add(name);
      }
      const { name: _, ...metadata } = manifest.metadata;
      const baseline = await environment.createPod(releaseNamespace, {
        ...manifest,
        metadata: { ...metadata, generateName: "baseline-" },
      });
      return comparableSpec(baseline.pod.spec);
    },
    async registerChartConfiguration(rendering = {}, target = webhook) {
      const configuration = await renderWebhookConfiguration(
        { url: target.mutateUrl, caBundle: certificate.caBundle },
        rendering,
      );
      await deleteWebhookConfiguration(cluster.client, configuration.metadata.name);
      await createWebhookConfiguration(cluster.client, configuration);
      registered = configuration;
      return configuration;
    },
    async startAnotherWebhook(logName, kubeconfigPath) {
      return startWebhookProcess({
        kubeconfigPath,
        certificate,
        port: await freePort(),
        metricsPort: await freePort(),
        dir: cluster.dir,
        logName,
      });
    },
    isMutating,
    async waitUntilMutating(labels = {}) {
      await eventually(
        "the API server calls the webhook",
        () => isMutating(labels),
        (mutating) => mutating,
      );
    },
    async stop() {
      await webhook.stop();
      await cluster.stop();
    },
  };
  return environment;
}
