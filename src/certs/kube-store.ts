// The CertStore over a real API server, as raw requests; RBAC: secrets get/create/patch, mutatingwebhookconfigurations get/patch/watch.

import type { KubeConnection } from "../kube/connection.js";
import {
  describeStatus,
  type KubeAnswer,
  type KubeBody,
  KubeClient,
  type KubeRequest,
  readErrorStatus,
  readLines,
} from "../kube/request.js";
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

/** A request the API server refused or could not answer; `status` is the HTTP status when it answered. */
export class KubeApiError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeApiError";
    this.status = status;
  }
}

const managedBy = { "app.kubernetes.io/managed-by": "web-identity-webhook" };
const webhookConfigurations = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

/**
 * Writes are JSON patches that first replace metadata.resourceVersion with the one read: the API
 * server takes it as a precondition and answers 409 Conflict if the object changed. Patches (not
 * PUTs) leave every other field alone, including ones this store does not read.
 */
export class KubeCertStore implements CertStore {
  readonly #client: KubeClient;

  constructor(connection: KubeConnection) {
    this.#client = new KubeClient(connection);
  }

  async readSecret(namespace: string, name: string): Promise<StoredSecret | undefined> {
    const answer = await this.#send(`get Secret ${namespace}/${name}`, {
      method: "GET",
      path: secretPath(namespace, name),
    });
    return answer === undefined ? undefined : storedSecret(answer);
  }

  async createSecret(
    namespace: string,
    name: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret> {
    const body = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, labels: managedBy },
      type: "kubernetes.io/tls",
      data: encode(data),
    };
    const answer = await this.#write(
      `create Secret ${namespace}/${name}`,
      `Secret ${namespace}/${name} already exists`,
      {
        method: "POST",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        body: { contentType: "application/json", text: JSON.stringify(body) },
      },
    );
    return storedSecret(answer);
  }

  async updateSecret(
    namespace: string,
    name: string,
    resourceVersion: string,
    data: Readonly<Record<string, string>>,
  ): Promise<StoredSecret> {
    const patch = [
      { op: "replace", path: "/metadata/resourceVersion", value: resourceVersion },
      { op: "add", path: "/data", value: encode(data) },
    ];
    const answer = await this.#write(
      `patch Secret ${namespace}/${name}`,
      `Secret ${namespace}/${name} changed since resourceVersion ${resourceVersion}`,
      { method: "PATCH", path: secretPath(namespace, name), body: jsonPatch(patch) },
    );
    return storedSecret(answer);
  }

  async readWebhookConfiguration(name: string): Promise<StoredWebhookConfiguration | undefined> {
    const answer = await this.#send(`get MutatingWebhookConfiguration ${name}`, {
      method: "GET",
      path: `${webhookConfigurations}/${encodeURIComponent(name)}`,
    });
    return answer === undefined ? undefined : storedWebhookConfiguration(answer);
  }

  async writeCaBundle(
    name: string,
    read: StoredWebhookConfiguration,
    caBundle: string,
  ): Promise<StoredWebhookConfiguration> {
    const encoded = Buffer.from(caBundle, "utf8").toString("base64");
    const patch = [
      { op: "replace", path: "/metadata/resourceVersion", value: read.resourceVersion },
      ...read.webhooks.map((_, i) => ({
        op: "add",
        path: `/webhooks/${i}/clientConfig/caBundle`,
        value: encoded,
      })),
    ];
    const answer = await this.#write(
      `patch MutatingWebhookConfiguration ${name}`,
      `MutatingWebhookConfiguration ${name} changed since resourceVersion ${read.resourceVersion}`,
      {
        method: "PATCH",
        path: `${webhookConfigurations}/${encodeURIComponent(name)}`,
        body: jsonPatch(patch),
      },
    );
    return storedWebhookConfiguration(answer);
  }

  /**
   * Watches from now, so the API server first reports the configuration as it is (ADDED); every event but a
   * BOOKMARK is a change. The API server ends the watch after its own timeout; `onEnd` then reports no error.
   */
  async watchWebhookConfiguration(name: string, handlers: WatchHandlers): Promise<() => void> {
    const what = `watch MutatingWebhookConfiguration ${name}`;
    const query = new URLSearchParams({ watch: "true", fieldSelector: `metadata.name=${name}` });
    const controller = new AbortController();
    let ended = false;
    const end = (error?: Error) => {
      if (ended) return;
      ended = true;
      controller.abort();
      handlers.onEnd(error);
    };
    const request = await this.#client.open(
      `${webhookConfigurations}?${query}`,
      controller.signal,
      (response) => {
        if (response.statusCode !== 200) {
          readErrorStatus(response, (message) =>
            end(new KubeApiError(`${what}: ${message}`, response.statusCode)),
          );
          return;
        }
        readLines(response, (line) => {
          const type = watchEventType(line);
          if (type !== undefined && type !== "BOOKMARK") handlers.onChange();
          return true;
        });
        response.on("end", () => end());
        response.on("close", () => end());
        response.on("error", (error) =>
          end(new KubeApiError(`${what}: ${error.message}`, undefined, { cause: error })),
        );
      },
    );
    // As client-node did: TCP keep-alive probes notice a peer that vanished from a watch that may stay quiet for long.
    request.on("socket", (socket) => socket.setKeepAlive(true, 30_000));
    request.on("error", (error) =>
      end(new KubeApiError(`${what}: ${error.message}`, undefined, { cause: error })),
    );
    return () => {
      ended = true;
      controller.abort();
    };
  }

  /** The object's JSON, or undefined on 404; any other failure throws with the API server's message. */
  async #send(what: string, request: KubeRequest): Promise<unknown> {
    let answer: KubeAnswer;
    try {
      answer = await this.#client.send(request);
    } catch (error) {
      throw new KubeApiError(`${what}: ${(error as Error).message}`, undefined, { cause: error });
    }
    if (answer.status === 404 && request.method === "GET") return undefined;
    if (answer.status < 200 || answer.status > 299)
      throw new KubeApiError(`${what}: ${describeStatus(answer.status, answer.body)}`, answer.status);
    try {
      return JSON.parse(answer.body);
    } catch (error) {
      throw new KubeApiError(`${what}: the answer is not JSON: ${(error as Error).message}`, answer.status, {
        cause: error,
      });
    }
  }

  /** 409 (AlreadyExists, Conflict) and 404 on a write mean another writer got there first. */
  async #write(what: string, lostRace: string, request: KubeRequest): Promise<unknown> {
    try {
      return await this.#send(what, request);
    } catch (error) {
      const status = error instanceof KubeApiError ? error.status : undefined;
      if (status === 409 || status === 404) throw new ConcurrentChangeError(lostRace, { cause: error });
      throw error;
    }
  }
}

function secretPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
}

function jsonPatch(operations: readonly object[]): KubeBody {
  return { contentType: "application/json-patch+json", text: JSON.stringify(operations) };
}

function storedSecret(secret: unknown): StoredSecret {
  const object = asObject(secret);
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(asObject(object.data)))
    if (typeof value === "string") data[key] = Buffer.from(value, "base64").toString("utf8");
  return { resourceVersion: resourceVersionOf(object), data };
}

function storedWebhookConfiguration(config: unknown): StoredWebhookConfiguration {
  const object = asObject(config);
  const webhooks = Array.isArray(object.webhooks) ? object.webhooks : [];
  return {
    resourceVersion: resourceVersionOf(object),
    webhooks: webhooks.map((webhook: unknown) => {
      const { name, clientConfig } = asObject(webhook);
      const caBundle = asObject(clientConfig).caBundle;
      return {
        name: typeof name === "string" ? name : "",
        caBundle: typeof caBundle === "string" ? Buffer.from(caBundle, "base64").toString("utf8") : "",
      };
    }),
  };
}

function resourceVersionOf(object: Record<string, unknown>): string {
  const resourceVersion = asObject(object.metadata).resourceVersion;
  return typeof resourceVersion === "string" ? resourceVersion : "";
}

function encode(data: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")]),
  );
}

/** The event type of one watch line; undefined for a line that is not JSON (skipped, as client-node did). */
function watchEventType(line: string): string | undefined {
  try {
    const type = asObject(JSON.parse(line)).type;
    return typeof type === "string" ? type : "";
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
