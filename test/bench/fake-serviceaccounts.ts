// Generated ServiceAccounts for the mock kube API: role-arn annotations plus the noise real clusters carry.

/** Namespace of the ServiceAccounts the benchmark's pods use. */
export const benchNamespace = "shop";

/** The pods' ServiceAccounts, one per review size; each names a role. */
export const reviewServiceAccounts = { small: "cart", medium: "checkout", large: "search" } as const;

/** Names the list omits but a GET finds (a ServiceAccount created after the last list): `late-<n>`. */
export const lateNamePrefix = "late-";

/** Names neither the list nor a GET finds: `absent-<n>`. */
export const absentNamePrefix = "absent-";

/** Every ServiceAccount of the list, each already serialised as a list item (no kind or apiVersion). */
export interface ServiceAccountList {
  readonly items: readonly string[];
  /** "namespace/name" → index in items. */
  readonly byKey: ReadonlyMap<string, number>;
  readonly resourceVersion: string;
}

const accountId = "111122223333";
const created = "2025-03-14T09:26:53Z";
const perNamespace = 25;

interface ServiceAccountObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: unknown[];
  };
}

function uid(n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `5f0c1d2e-3a4b-4c5d-8e6f-${hex}`;
}

/** The ServiceAccount a cluster would hold at position `n`: about half name a role, most carry noise. */
function generatedServiceAccount(n: number): ServiceAccountObject {
  const namespace = `team-${Math.floor(n / perNamespace)
    .toString()
    .padStart(4, "0")}`;
  const name = n % perNamespace === 0 ? "default" : `svc-${n.toString().padStart(6, "0")}`;
  const metadata: ServiceAccountObject["metadata"] = {
    name,
    namespace,
    uid: uid(n),
    resourceVersion: String(1000 + n),
    creationTimestamp: created,
  };
  if (name === "default") return { metadata };

  const annotations: Record<string, string> = {};
  if (n % 2 === 0)
    annotations["eks.amazonaws.com/role-arn"] = `arn:aws:iam::${accountId}:role/${namespace}-${name}`;
  if (n % 8 === 0) {
    annotations["eks.amazonaws.com/sts-regional-endpoints"] = "true";
    annotations["eks.amazonaws.com/token-expiration"] = "3600";
  }
  if (n % 20 === 7) annotations["iam.gke.io/gcp-service-account"] = `${name}@project.iam.gserviceaccount.com`;
  if (n % 20 === 13) annotations["azure.workload.identity/client-id"] = uid(n * 7);
  if (n % 3 === 0) {
    metadata.labels = {
      "app.kubernetes.io/managed-by": "Helm",
      "app.kubernetes.io/name": name,
      "app.kubernetes.io/instance": `${name}-release`,
      "helm.sh/chart": `${name}-1.4.2`,
    };
    annotations["meta.helm.sh/release-name"] = `${name}-release`;
    annotations["meta.helm.sh/release-namespace"] = namespace;
    metadata.managedFields = [managedField("helm", annotations)];
  } else {
    metadata.labels = { app: name };
    const applied = {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { annotations: { ...annotations }, labels: metadata.labels, name, namespace },
    };
    annotations["kubectl.kubernetes.io/last-applied-configuration"] = `${JSON.stringify(applied)}\n`;
    metadata.managedFields = [managedField("kubectl-client-side-apply", annotations)];
  }
  metadata.annotations = annotations;
  return { metadata };
}

function managedField(manager: string, annotations: Record<string, string>): unknown {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(annotations)) fields[`f:${key}`] = {};
  return {
    manager,
    operation: "Update",
    apiVersion: "v1",
    time: created,
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:annotations": { ".": {}, ...fields }, "f:labels": { ".": {} } } },
  };
}

function reviewServiceAccount(name: string, n: number): ServiceAccountObject {
  return {
    metadata: {
      name,
      namespace: benchNamespace,
      uid: uid(0xffff0000 + n),
      resourceVersion: String(900 + n),
      creationTimestamp: created,
      labels: { app: name },
      annotations: {
        "eks.amazonaws.com/role-arn": `arn:aws:iam::${accountId}:role/${benchNamespace}-${name}`,
        "eks.amazonaws.com/token-expiration": "3600",
      },
    },
  };
}

/** The list a mock API serves, `count` in all: the reviews' ServiceAccounts, then generated ones. */
export function serviceAccountList(count: number): ServiceAccountList {
  const objects = Object.values(reviewServiceAccounts).map((name, n) => reviewServiceAccount(name, n));
  for (let n = 0; objects.length < count; n++) objects.push(generatedServiceAccount(n));
  const byKey = new Map<string, number>();
  const items = objects.map((object, index) => {
    byKey.set(`${object.metadata.namespace}/${object.metadata.name}`, index);
    return JSON.stringify(object);
  });
  return { items, byKey, resourceVersion: String(1000 + count) };
}

/** The ServiceAccount a GET finds for a name the list omitted, serialised as a whole object. */
export function lateServiceAccount(namespace: string, name: string): string {
  const object = reviewServiceAccount(name, 0x1000);
  object.metadata.namespace = namespace;
  object.metadata.annotations = {
    "eks.amazonaws.com/role-arn": `arn:aws:iam::${accountId}:role/${namespace}-${name}`,
  };
  return JSON.stringify({ kind: "ServiceAccount", apiVersion: "v1", ...object });
}

/** A list item as a whole object (GET answers and watch events carry kind and apiVersion). */
export function asObject(item: string): string {
  return `{"kind":"ServiceAccount","apiVersion":"v1",${item.slice(1)}`;
}
