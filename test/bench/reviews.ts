// AdmissionReviews as the API server sends them for Deployment pods of three sizes, with a per-request uid slot.

import { benchNamespace, reviewServiceAccounts } from "./fake-serviceaccounts.js";

export type ReviewSize = keyof typeof reviewServiceAccounts;

export const reviewSizes: readonly ReviewSize[] = ["small", "medium", "large"];

/**
 * The uid every template carries; a sender overwrites its last 12 hex digits per request, in place,
 * so the body needs no new allocation and keeps its length.
 */
export const uidPlaceholder = "a3f1c7e2-9b4d-4e6a-8c1f-000000000000";

interface ContainerShape {
  readonly name: string;
  readonly image: string;
  readonly env: number;
  readonly mounts: readonly string[];
  readonly restartPolicy?: "Always";
}

interface PodShape {
  readonly app: string;
  readonly serviceAccount: string;
  readonly initContainers: readonly ContainerShape[];
  readonly containers: readonly ContainerShape[];
  readonly volumes: readonly string[];
}

const apiAccess = "kube-api-access-8xk2p";

function envVars(count: number, container: string): unknown[] {
  const env: unknown[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 10 === 3) {
      env.push({
        name: `SECRET_${i}`,
        valueFrom: { secretKeyRef: { name: `${container}-secrets`, key: `key-${i}` } },
      });
    } else if (i % 10 === 7) {
      env.push({
        name: `POD_FIELD_${i}`,
        valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } },
      });
    } else {
      env.push({
        name: `${container.toUpperCase().replaceAll("-", "_")}_SETTING_${i}`,
        value: `value-${i}-of-${container}`,
      });
    }
  }
  return env;
}

function container(shape: ContainerShape): unknown {
  const volumeMounts = [
    ...shape.mounts.map((name) => ({ name, mountPath: `/etc/${name}`, readOnly: name !== "cache" })),
    { name: apiAccess, readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
  ];
  return {
    name: shape.name,
    image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${shape.image}@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`,
    imagePullPolicy: "IfNotPresent",
    ...(shape.restartPolicy === undefined ? {} : { restartPolicy: shape.restartPolicy }),
    ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
    env: envVars(shape.env, shape.name),
    resources: { limits: { memory: "512Mi" }, requests: { cpu: "250m", memory: "256Mi" } },
    livenessProbe: {
      httpGet: { path: "/healthz", port: "http", scheme: "HTTP" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: "/readyz", port: "http", scheme: "HTTP" },
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 10001,
    },
    volumeMounts,
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  };
}

function volume(name: string): unknown {
  if (name === "cache") return { name, emptyDir: { sizeLimit: "1Gi" } };
  if (name.endsWith("-tls")) return { name, secret: { secretName: name, defaultMode: 420 } };
  return { name, configMap: { name, defaultMode: 420 } };
}

/** The pod a ReplicaSet creates, after the built-in ServiceAccount admission added the API access volume. */
function pod(shape: PodShape): unknown {
  const hash = "7d4b9c8f6d";
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      generateName: `${shape.app}-${hash}-`,
      namespace: benchNamespace,
      labels: {
        app: shape.app,
        "app.kubernetes.io/name": shape.app,
        "app.kubernetes.io/part-of": "shop",
        "pod-template-hash": hash,
      },
      annotations: {
        "kubectl.kubernetes.io/restartedAt": "2025-03-14T09:26:53Z",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${shape.app}-${hash}`,
          uid: "0b6f2d5e-8c3a-4f1e-9d7b-2a4c6e8f0b1d",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      serviceAccountName: shape.serviceAccount,
      serviceAccount: shape.serviceAccount,
      ...(shape.initContainers.length === 0 ? {} : { initContainers: shape.initContainers.map(container) }),
      containers: shape.containers.map(container),
      volumes: [
        ...shape.volumes.map(volume),
        {
          name: apiAccess,
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              {
                downwardAPI: {
                  items: [
                    { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
                  ],
                },
              },
            ],
          },
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      securityContext: { fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
      schedulerName: "default-scheduler",
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
      priority: 0,
      tolerations: [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
        {
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ],
    },
    status: {},
  };
}

function shapeOf(size: ReviewSize, serviceAccount: string): PodShape {
  switch (size) {
    case "small":
      return {
        app: "cart",
        serviceAccount,
        initContainers: [],
        containers: [{ name: "cart", image: "shop/cart:2.3.1", env: 5, mounts: [] }],
        volumes: [],
      };
    case "medium": {
      const volumes = ["checkout-config", "checkout-tls", "cache", "feature-flags", "envoy-config"];
      return {
        app: "checkout",
        serviceAccount,
        initContainers: [
          { name: "migrate", image: "shop/checkout-migrate:4.1.0", env: 20, mounts: ["checkout-config"] },
        ],
        containers: [
          {
            name: "checkout",
            image: "shop/checkout:4.1.0",
            env: 20,
            mounts: ["checkout-config", "checkout-tls", "cache", "feature-flags"],
          },
          {
            name: "envoy",
            image: "envoyproxy/envoy:v1.33.0",
            env: 20,
            mounts: ["envoy-config", "checkout-tls"],
          },
          { name: "log-forwarder", image: "fluent/fluent-bit:3.2.4", env: 20, mounts: ["cache"] },
        ],
        volumes,
      };
    }
    case "large": {
      const volumes = ["search-config", "search-tls", "cache", "index-shards", "envoy-config"];
      const sidecars: ContainerShape[] = ["envoy", "log-forwarder", "otel-collector"].map((name) => ({
        name,
        image: `shop/${name}:1.0.0`,
        env: 100,
        mounts: ["envoy-config", "cache"],
        restartPolicy: "Always",
      }));
      const containers: ContainerShape[] = [];
      for (let i = 0; i < 20; i++) {
        containers.push({
          name: `shard-${i}`,
          image: "shop/search-shard:7.0.2",
          env: 100,
          mounts: ["search-config", "search-tls", "index-shards"],
        });
      }
      return {
        app: "search",
        serviceAccount,
        initContainers: [
          { name: "fetch-index", image: "shop/index-fetcher:7.0.2", env: 100, mounts: ["index-shards"] },
          ...sidecars,
        ],
        containers,
        volumes,
      };
    }
  }
}

/** The AdmissionReview v1 body the API server sends to create this pod, with `uidPlaceholder` as its uid. */
export function admissionReview(
  size: ReviewSize,
  serviceAccount: string = reviewServiceAccounts[size],
): string {
  return JSON.stringify({
    kind: "AdmissionReview",
    apiVersion: "admission.k8s.io/v1",
    request: {
      uid: uidPlaceholder,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace: benchNamespace,
      operation: "CREATE",
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        uid: "c3e1a0f2-6b7d-4c8e-9f1a-2b3c4d5e6f70",
        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
      },
      object: pod(shapeOf(size, serviceAccount)),
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
    },
  });
}

/** A review body with its uid slot located, for senders that stamp a counter into it. */
export interface ReviewTemplate {
  readonly body: Buffer;
  /** Offset of the 12 hex digits to overwrite. */
  readonly uidDigitsAt: number;
}

export function reviewTemplate(json: string): ReviewTemplate {
  const body = Buffer.from(json);
  const at = body.indexOf(uidPlaceholder);
  if (at < 0) throw new Error("review template: the body does not contain the uid placeholder");
  return { body, uidDigitsAt: at + uidPlaceholder.length - 12 };
}

const hexDigits = Buffer.from("0123456789abcdef");

/** Writes `counter` as 12 hex digits into the uid slot of `body` (a copy of a template). */
export function stampUid(body: Buffer, uidDigitsAt: number, counter: number): void {
  let value = counter;
  for (let i = 11; i >= 0; i--) {
    body[uidDigitsAt + i] = hexDigits[value % 16] ?? 48;
    value = Math.floor(value / 16);
  }
}
