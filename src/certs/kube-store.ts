// The CertStore over a real API server (client-node 1.x); RBAC: secrets get/create/patch, mutatingwebhookconfigurations get/patch/watch.

import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
  Watch,
} from "@kubernetes/client-node";
import {
  type CertStore,
  ConcurrentChangeError,
  type StoredSecret,
  type StoredWebhookConfiguration,
  type WatchHandlers,
} from "./store.js";

/**
 * Every API request this store makes, as RBAC rules: the chart grants exactly these (test/chart/rbac.test.ts).
 * `ownObjectOnly`: limited to the one object the flags name (resourceNames); `create` cannot be, as Kubernetes
 * authorizes it before the object has a name.
 */
export const requiredPermissions = [
  { apiGroup: "", resource: "secrets", verbs: ["get", "patch"], scope: "namespace", ownObjectOnly: true },
  { apiGroup: "", resource: "secrets", verbs: ["create"], scope: "namespace", ownObjectOnly: false },
  {
    apiGroup: "admissionregistration.k8s.io",
    resource: "mutatingwebhookconfigurations",
    verbs: ["get", "patch", "watch"],
    scope: "cluster",
    ownObjectOnly: true,
  },
] as const;

const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const managedBy = { "app.kubernetes.io/managed-by": "web-identity-webhook" };

/**
 * Writes are JSON patches that first replace metadata.resourceVersion with the one read: the API
 * server takes it as a precondition and answers 409 Conflict if the object changed. Patches (not
 * PUTs) leave every other field alone, including ones this client's models do not know.
 */
export class KubeCertStore implements CertStore {
  readonly #core: CoreV1Api;
  readonly #admission: AdmissionregistrationV1Api;
  readonly #watch: Watch;

  constructor(kubeConfig: KubeConfig) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    this.#watch = new Watch(kubeConfig);
  }

  async readSecret(namespace: string, name: string): Promise<StoredSecret | undefined> {
    try {
      return storedSecret(await this.#core.readNamespacedSecret({ name, namespace }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async createSecret(
    namespace: string,
    name: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret> {
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, labels: managedBy },
      type: "kubernetes.io/tls",
      data: encode(data),
    };
    try {
      return storedSecret(await this.#core.createNamespacedSecret({ namespace, body }));
    } catch (err) {
      throw lostRace(err, `Secret ${namespace}/${name} already exists`);
    }
  }

  async updateSecret(
    namespace: string,
    name: string,
    resourceVersion: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret> {
    const body = [
      { op: "replace", path: "/metadata/resourceVersion", value: resourceVersion },
      { op: "add", path: "/data", value: encode(data) },
    ];
    try {
      return storedSecret(await this.#core.patchNamespacedSecret({ name, namespace, body }, jsonPatch));
    } catch (err) {
      throw lostRace(err, `Secret ${namespace}/${name} changed since resourceVersion ${resourceVersion}`);
    }
  }

  async readWebhookConfiguration(name: string): Promise<StoredWebhookConfiguration | undefined> {
    try {
      return storedWebhookConfiguration(await this.#admission.readMutatingWebhookConfiguration({ name }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async writeCaBundle(
    name: string,
    read: StoredWebhookConfiguration,
    caBundle: string,
  ): Promise<StoredWebhookConfiguration> {
    const encoded = Buffer.from(caBundle, "utf8").toString("base64");
    const body = [
      { op: "replace", path: "/metadata/resourceVersion", value: read.resourceVersion },
      ...read.webhooks.map((_, i) => ({
        op: "add",
        path: `/webhooks/${i}/clientConfig/caBundle`,
        value: encoded,
      })),
    ];
    try {
      return storedWebhookConfiguration(
        await this.#admission.patchMutatingWebhookConfiguration({ name, body }, jsonPatch),
      );
    } catch (err) {
      throw lostRace(
        err,
        `MutatingWebhookConfiguration ${name} changed since resourceVersion ${read.resourceVersion}`,
      );
    }
  }

  async watchWebhookConfiguration(name: string, handlers: WatchHandlers): Promise<() => void> {
    const abort = await this.#watch.watch(
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
      { fieldSelector: `metadata.name=${name}` },
      (phase) => {
        if (phase !== "BOOKMARK") handlers.onChange();
      },
      (err: unknown) => handlers.onEnd(err ?? undefined),
    );
    return () => abort.abort();
  }
}

function storedSecret(secret: V1Secret): StoredSecret {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {}))
    data[key] = Buffer.from(value, "base64").toString("utf8");
  return { resourceVersion: secret.metadata?.resourceVersion ?? "", data };
}

function storedWebhookConfiguration(config: V1MutatingWebhookConfiguration): StoredWebhookConfiguration {
  return {
    resourceVersion: config.metadata?.resourceVersion ?? "",
    webhooks: (config.webhooks ?? []).map((w) => ({
      name: w.name,
      caBundle: w.clientConfig.caBundle
        ? Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8")
        : "",
    })),
  };
}

function encode(data: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")]),
  );
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** 409 (AlreadyExists, Conflict) and 404 on a write mean another writer got there first. */
function lostRace(err: unknown, message: string): unknown {
  const status = statusOf(err);
  return status === 409 || status === 404 ? new ConcurrentChangeError(message, { cause: err }) : err;
}
