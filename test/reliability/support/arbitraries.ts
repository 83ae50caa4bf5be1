// fast-check generators of pods and AdmissionReviews: well-formed ones that vary everything the engine reads,
// and broken ones (wrong types at any level, random JSON, huge lists, deep nesting).

import fc from "fast-check";

export const prefix = "eks.amazonaws.com";
export const namespace = "shop";

/** ServiceAccounts the generated pods name; `served` are the ones the fake source holds. */
export const serviceAccountNames = {
  withRole: "app",
  withEverything: "tuned",
  withoutRole: "plain",
  unicode: "ünïcødé~/sa",
  missing: "ghost",
} as const;

/** Names a user might write: plain, unicode, JSON Pointer's `~` and `/`, empty, the webhook's own names. */
const oddName = fc.oneof(
  fc.constantFrom(
    "app",
    "sidecar",
    "init",
    "a/b",
    "~0",
    "~1",
    "a~/b",
    "",
    " ",
    "名前",
    "🐳",
    "aws-iam-token",
  ),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("a", "~", "/", "0", "1"), maxLength: 6 }),
);

const roleArns = fc.constantFrom(
  "arn:aws:iam::111122223333:role/app",
  "arn:aws:iam::999999999999:role/admin",
  "arn:aws-cn:iam::111122223333:role/path/x",
  "not-an-arn",
  "",
);

/** Keys the engine reads, near misses of them, and unrelated keys with odd characters. */
const annotationKey = fc.oneof(
  fc.constantFrom(
    `${prefix}/role-arn`,
    `${prefix}/audience`,
    `${prefix}/sts-regional-endpoints`,
    `${prefix}/token-expiration`,
    `${prefix}/skip-containers`,
    "eks.amazon.com/role-arn",
    `${prefix}/rolearn`,
    `${prefix}/Role_ARN`,
    "EKS.AMAZONAWS.COM/role-arn",
    "iam.amazonaws.com/role-arn",
    "role-arn",
    `${prefix}/`,
    "/",
    "~",
  ),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  oddName.map((name) => `${prefix}/${name}`),
);

const annotationValue = fc.oneof(
  roleArns,
  fc.constantFrom("600", "86400", "-1", "1e3", "99999999999999999999", "true", "false", "app,sidecar", ",,"),
  fc.string({ unit: "grapheme", maxLength: 30 }),
);

const annotations = fc.dictionary(annotationKey, annotationValue, { maxKeys: 6 });

/** Extra fields the engine does not read, which must pass through untouched. */
const unknownFields = fc.dictionary(
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }).map((key) => `x-${key}`),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 2 },
);

const envName = fc.oneof(
  fc.constantFrom(
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "LOG_LEVEL",
  ),
  oddName,
);

const envVar = fc.oneof(
  fc.record({ name: envName, value: fc.oneof(roleArns, fc.string({ maxLength: 10 })) }),
  fc.record({ name: envName, valueFrom: fc.constant({ secretKeyRef: { name: "s", key: "k" } }) }),
  fc.record({ name: envName }),
);

const mount = fc.record({
  name: fc.oneof(fc.constant("aws-iam-token"), oddName),
  mountPath: fc.constantFrom(
    "/var/run/secrets/eks.amazonaws.com/serviceaccount",
    "/data",
    "/var/run/secrets/eks.amazonaws.com",
    "",
  ),
  readOnly: fc.boolean(),
});

/** A list field as users and controllers send it: absent, null, empty or with items. */
function listField<T>(item: fc.Arbitrary<T>, maxLength: number) {
  return fc.option(fc.oneof(fc.constant(null), fc.array(item, { maxLength })), { nil: undefined });
}

const container = fc
  .record(
    {
      name: oddName,
      image: fc.constant("app:1"),
      env: listField(envVar, 5),
      volumeMounts: listField(mount, 3),
      restartPolicy: fc.constantFrom("Always", "Never"),
      extra: unknownFields,
    },
    { requiredKeys: ["name", "image"] },
  )
  .map(({ extra, ...fields }) => dropUndefined({ ...extra, ...fields }));

const volume = fc.oneof(
  fc.record({ name: fc.constant("aws-iam-token"), emptyDir: fc.constant({}) }),
  fc.record({ name: oddName, configMap: fc.record({ name: oddName }) }),
);

const serviceAccountName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(serviceAccountNames.withRole, serviceAccountNames.withEverything) },
  { weight: 2, arbitrary: fc.constantFrom(...Object.values(serviceAccountNames)) },
  { weight: 1, arbitrary: oddName },
);

const spec = fc
  .record(
    {
      serviceAccountName,
      serviceAccount: serviceAccountName,
      containers: fc.oneof(
        { weight: 6, arbitrary: fc.array(container, { minLength: 1, maxLength: 4 }) },
        { weight: 1, arbitrary: listField(container, 4) },
      ),
      initContainers: listField(container, 2),
      volumes: listField(volume, 3),
      nodeSelector: fc.option(
        fc.constantFrom(
          { "kubernetes.io/os": "windows" },
          { "beta.kubernetes.io/os": "windows" },
          { "kubernetes.io/os": "linux" },
        ),
        { nil: undefined },
      ),
      extra: unknownFields,
    },
    { requiredKeys: ["containers"] },
  )
  .map(({ extra, ...fields }) => dropUndefined({ ...extra, ...fields }));

const metadata = fc
  .record(
    {
      name: oddName,
      generateName: oddName,
      namespace: fc.constantFrom(namespace, "other", ""),
      annotations: fc.option(fc.oneof(fc.constant(null), annotations), { nil: undefined }),
      labels: fc.option(fc.dictionary(annotationKey, fc.string({ maxLength: 8 }), { maxKeys: 3 }), {
        nil: undefined,
      }),
      extra: unknownFields,
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...fields }) => dropUndefined({ ...extra, ...fields }));

/** A pod the engine must handle: every field it reads has the type Kubernetes gives it. */
export const pod = fc
  .record({
    metadata: fc.option(metadata, { nil: undefined }),
    spec: fc.option(spec, { nil: undefined, freq: 10 }),
  })
  .map((fields) => dropUndefined({ apiVersion: "v1", kind: "Pod", ...fields }));

/** A pod with hundreds of containers, env entries and annotations. */
export const hugePod = fc
  .record({
    containers: fc.integer({ min: 100, max: 1500 }),
    env: fc.integer({ min: 100, max: 3000 }),
    annotations: fc.integer({ min: 100, max: 2000 }),
  })
  .map((size) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: "big-",
      annotations: Object.fromEntries(
        Array.from({ length: size.annotations }, (_, i) => [`example.com/k${i}`, `v${i}`]),
      ),
    },
    spec: {
      serviceAccountName: serviceAccountNames.withRole,
      containers: Array.from({ length: size.containers }, (_, i) => ({
        name: `c${i}`,
        image: "app:1",
        env: Array.from({ length: i === 0 ? size.env : 1 }, (_, j) => ({ name: `V${j}`, value: "x" })),
      })),
    },
  }));

export interface ReviewBody {
  readonly apiVersion: string;
  readonly kind: "AdmissionReview";
  readonly request: Record<string, unknown> & { readonly uid: string; readonly object?: unknown };
}

/** A well-formed AdmissionReview, mostly of a pod CREATE, sometimes of something the webhook passes. */
export const review = (object: fc.Arbitrary<unknown>) =>
  fc
    .record({
      apiVersion: fc.constantFrom("admission.k8s.io/v1", "admission.k8s.io/v1beta1"),
      uid: fc.oneof(fc.uuid(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 })),
      operation: fc.oneof(
        { weight: 8, arbitrary: fc.constant("CREATE") },
        { weight: 1, arbitrary: fc.constantFrom("UPDATE", "DELETE", "CONNECT") },
      ),
      subResource: fc.oneof({ weight: 8, arbitrary: fc.constant("") }, fc.constant("ephemeralcontainers")),
      namespace: fc.oneof({ weight: 8, arbitrary: fc.constant(namespace) }, fc.constantFrom("other", "")),
      dryRun: fc.boolean(),
      object,
    })
    .map(
      (r): ReviewBody => ({
        apiVersion: r.apiVersion,
        kind: "AdmissionReview",
        request: {
          uid: r.uid,
          kind: { group: "", version: "v1", kind: "Pod" },
          resource: { group: "", version: "v1", resource: "pods" },
          subResource: r.subResource,
          namespace: r.namespace,
          operation: r.operation,
          dryRun: r.dryRun,
          object: r.object,
        },
      }),
    );

/** Values of every JSON type, to put where another type belongs. */
const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, 0, -1, true, "", [], {}, [null], { name: 1 }, "💥".repeat(50)),
  fc.integer({ min: 50, max: 1000 }).map((depth) => nested(depth)),
);

/** A well-formed review with one value, anywhere in it, replaced by a wrong one or removed. */
export const brokenReview = fc
  .tuple(review(pod), fc.nat(), wrongValue, fc.boolean())
  .map(([body, pick, value, remove]) => {
    const copy = structuredClone(body) as unknown as Record<string, unknown>;
    const paths = pathsOf(copy);
    const path = paths[pick % paths.length] ?? [];
    replaceAt(copy, path, remove ? undefined : value);
    return copy;
  });

/** Bodies that are not AdmissionReviews at all: random JSON, or text that is not JSON. */
export const junkBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? "null"),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.constantFrom("{", "[]", '{"kind":"AdmissionReview"', "\u0000", "null", '""', "{}", '{"request":{}}'),
);

/** `depth` arrays nested in one another: `[[[...]]]`. */
export function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Every path to a value inside `value`, as key lists, the root excluded. */
function pathsOf(value: unknown, at: readonly (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [];
  const paths: (string | number)[][] = [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  for (const [key, child] of entries) {
    paths.push([...at, key], ...pathsOf(child, [...at, key]));
  }
  return paths;
}

function replaceAt(root: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let parent: unknown = root;
  for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
  const last = path[path.length - 1];
  if (last === undefined || typeof parent !== "object" || parent === null) return;
  if (value === undefined && Array.isArray(parent)) parent.splice(last as number, 1);
  else if (value === undefined) delete (parent as Record<string | number, unknown>)[last];
  else (parent as Record<string | number, unknown>)[last] = value;
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
