// Decoding an AdmissionReview (admission.k8s.io/v1 or v1beta1) from parsed JSON into a typed request, or a problem.

export const admissionApiVersions = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;

export type AdmissionApiVersion = (typeof admissionApiVersions)[number];

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** The parts of an AdmissionReview's request the webhook reads. */
export interface AdmissionRequest {
  /** The review's version; the response must be in the same one. */
  readonly apiVersion: AdmissionApiVersion;
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  /** "" for the resource itself, e.g. "ephemeralcontainers" or "status" otherwise. */
  readonly subResource: string;
  readonly operation: Operation;
  /**
   * The request's namespace: pods made by controllers (generateName) carry no metadata.namespace,
   * so this is where it is found. "" for cluster-scoped objects.
   */
  readonly namespace: string;
  /** request.object as sent: the object being admitted; undefined for DELETE. */
  readonly object: unknown;
  readonly dryRun: boolean;
}

export type DecodedReview =
  | { readonly ok: true; readonly request: AdmissionRequest }
  | { readonly ok: false; readonly problem: string };

const operations: ReadonlySet<string> = new Set<Operation>(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(problem: string): DecodedReview {
  return { ok: false, problem };
}

/** Text for an unexpected value in a message: short, quoted, and safe to log. */
/** A short description of a bad value: primitives as JSON, containers by type only (never serialised: they may be huge or deeply nested). */
function shown(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isAdmissionApiVersion(value: unknown): value is AdmissionApiVersion {
  return value === admissionApiVersions[0] || value === admissionApiVersions[1];
}

/** A typed AdmissionRequest from a parsed body, or what is wrong with it. */
export function decodeReview(body: unknown): DecodedReview {
  if (!isObject(body)) return invalid("the body is not a JSON object; send an AdmissionReview");
  const { apiVersion, kind, request } = body;
  if (kind !== "AdmissionReview") return invalid(`kind is ${shown(kind)}, not "AdmissionReview"`);
  if (!isAdmissionApiVersion(apiVersion)) {
    return invalid(`apiVersion is ${shown(apiVersion)}, not ${admissionApiVersions.join(" or ")}`);
  }
  if (!isObject(request)) return invalid("request is missing or not an object");
  const { uid, operation, namespace, subResource, dryRun } = request;
  if (typeof uid !== "string" || uid === "")
    return invalid(`request.uid is ${shown(uid)}; it must be a non-empty string`);
  if (typeof operation !== "string" || !operations.has(operation)) {
    return invalid(`request.operation is ${shown(operation)}, not one of CREATE, UPDATE, DELETE, CONNECT`);
  }
  const requestKind = groupVersion(request.kind, "kind");
  if (typeof requestKind === "string") return invalid(requestKind);
  const resource = groupVersion(request.resource, "resource");
  if (typeof resource === "string") return invalid(resource);
  if (namespace !== undefined && typeof namespace !== "string") {
    return invalid(`request.namespace is ${shown(namespace)}, not a string`);
  }
  if (subResource !== undefined && typeof subResource !== "string") {
    return invalid(`request.subResource is ${shown(subResource)}, not a string`);
  }
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== "boolean") {
    return invalid(`request.dryRun is ${shown(dryRun)}, not a boolean`);
  }
  return {
    ok: true,
    request: {
      apiVersion,
      uid,
      kind: { group: requestKind.group, version: requestKind.version, kind: requestKind.name },
      resource: { group: resource.group, version: resource.version, resource: resource.name },
      subResource: subResource ?? "",
      operation: operation as Operation,
      namespace: namespace ?? "",
      object: request.object,
      dryRun: dryRun === true,
    },
  };
}

interface Named {
  readonly group: string;
  readonly version: string;
  readonly name: string;
}

/** request.kind ({group, version, kind}) or request.resource ({group, version, resource}); group "" is core. */
function groupVersion(value: unknown, field: "kind" | "resource"): Named | string {
  if (!isObject(value)) return `request.${field} is ${shown(value)}, not an object`;
  const { group = "", version, [field]: name } = value;
  if (typeof group !== "string") return `request.${field}.group is ${shown(group)}, not a string`;
  if (typeof version !== "string" || version === "") {
    return `request.${field}.version is ${shown(version)}; it must be a non-empty string`;
  }
  if (typeof name !== "string" || name === "") {
    return `request.${field}.${field} is ${shown(name)}; it must be a non-empty string`;
  }
  return { group, version, name };
}
