// Checking request.object of a pod review against the Pod fields the engine reads, so nothing deeper re-checks shapes.

import type { Pod } from "../mutation/pod.js";

export type PodReading =
  | { readonly ok: true; readonly pod: Pod }
  | { readonly ok: false; readonly problem: string };

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === "string";
}

/** Absent, null, or an object whose values are all strings (annotations, labels, nodeSelector). */
function isStringMap(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (!isObject(value)) return false;
  for (const key in value) {
    if (typeof value[key] !== "string") return false;
  }
  return true;
}

/** Absent, null, or an array whose items are objects with a string `name` (and any other `required` strings). */
function isNamedList(value: unknown, required?: string): boolean {
  if (value === undefined || value === null) return true;
  if (!Array.isArray(value)) return false;
  for (const item of value) {
    if (!isObject(item) || typeof item.name !== "string") return false;
    if (required !== undefined && typeof item[required] !== "string") return false;
  }
  return true;
}

/** Absent, null, or an object whose `fields` are each absent or a string. */
function isOptionalObjectOfStrings(value: unknown, ...fields: readonly string[]): boolean {
  if (value === undefined || value === null) return true;
  return isObject(value) && fields.every((field) => isOptionalString(value[field]));
}

/** Absent, null, or a list of envFrom sources (prefix and ConfigMap/Secret names are strings). */
function isEnvFromList(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (!Array.isArray(value)) return false;
  return value.every(
    (source) =>
      isObject(source) &&
      isOptionalString(source.prefix) &&
      isOptionalObjectOfStrings(source.configMapRef, "name") &&
      isOptionalObjectOfStrings(source.secretRef, "name"),
  );
}

function isOwnerReferenceList(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (!Array.isArray(value)) return false;
  return value.every(
    (reference) =>
      isObject(reference) &&
      ["apiVersion", "kind", "name", "uid"].every((field) => typeof reference[field] === "string") &&
      (reference.controller === undefined || typeof reference.controller === "boolean"),
  );
}

function isMountList(value: unknown): boolean {
  if (!isNamedList(value, "mountPath")) return false;
  if (!Array.isArray(value)) return true;
  return value.every(
    (mount: JsonObject) => isOptionalString(mount.subPath) && isOptionalString(mount.subPathExpr),
  );
}

/** The volumes' names and projected ServiceAccount tokens, the only volume source the engine reads. */
function volumesProblem(value: unknown): string | undefined {
  if (!isNamedList(value)) return "spec.volumes is not a list of volumes with names";
  if (!Array.isArray(value)) return undefined;
  for (let index = 0; index < value.length; index++) {
    const projected = (value[index] as JsonObject).projected;
    if (projected === undefined || projected === null) continue;
    if (!isObject(projected)) return `spec.volumes[${index}].projected is not an object`;
    const sources = projected.sources;
    if (sources === undefined || sources === null) continue;
    const valid =
      Array.isArray(sources) &&
      sources.every(
        (source) =>
          isObject(source) && isOptionalObjectOfStrings(source.serviceAccountToken, "audience", "path"),
      );
    if (!valid) return `spec.volumes[${index}].projected.sources is not a list of volume projections`;
  }
  return undefined;
}

function containersProblem(value: unknown, field: string): string | undefined {
  if (!isNamedList(value)) return `spec.${field} is not a list of containers with names`;
  if (!Array.isArray(value)) return undefined;
  for (let index = 0; index < value.length; index++) {
    const container = value[index] as JsonObject;
    if (!isNamedList(container.env)) return `spec.${field}[${index}].env is not a list of named variables`;
    if (!isEnvFromList(container.envFrom)) {
      return `spec.${field}[${index}].envFrom is not a list of sources with string prefix and names`;
    }
    if (!isMountList(container.volumeMounts)) {
      return `spec.${field}[${index}].volumeMounts is not a list of mounts with name and mountPath`;
    }
    if (!isOptionalString(container.restartPolicy))
      return `spec.${field}[${index}].restartPolicy is not a string`;
  }
  return undefined;
}

function metadataProblem(metadata: unknown): string | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) return "metadata is not an object";
  if (!isOptionalString(metadata.name)) return "metadata.name is not a string";
  if (!isOptionalString(metadata.generateName)) return "metadata.generateName is not a string";
  if (!isOptionalString(metadata.namespace)) return "metadata.namespace is not a string";
  if (!isStringMap(metadata.annotations)) return "metadata.annotations is not a map of strings";
  if (!isStringMap(metadata.labels)) return "metadata.labels is not a map of strings";
  if (!isOwnerReferenceList(metadata.ownerReferences))
    return "metadata.ownerReferences is not a list of references with apiVersion, kind, name and uid";
  return undefined;
}

function specProblem(spec: unknown): string | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (!isObject(spec)) return "spec is not an object";
  if (!isOptionalString(spec.serviceAccountName)) return "spec.serviceAccountName is not a string";
  const volumes = volumesProblem(spec.volumes);
  if (volumes !== undefined) return volumes;
  if (!isStringMap(spec.nodeSelector)) return "spec.nodeSelector is not a map of strings";
  if (!isOptionalObjectOfStrings(spec.os, "name")) return "spec.os is not an object with a string name";
  return (
    containersProblem(spec.initContainers, "initContainers") ??
    containersProblem(spec.containers, "containers")
  );
}

/** The request's object as a Pod when the fields the engine reads have the right types, or the first that does not. */
export function readPod(object: unknown): PodReading {
  if (!isObject(object)) return { ok: false, problem: "request.object is not a Pod object" };
  const problem = metadataProblem(object.metadata) ?? specProblem(object.spec);
  if (problem !== undefined) return { ok: false, problem: `request.object ${problem}` };
  return { ok: true, pod: object as Pod };
}
