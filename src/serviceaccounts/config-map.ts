// The reference webhook's `pod-identity-webhook` ConfigMap: its `config` JSON parsed into entries, and the merge
// that turns an entry into the annotations the engine already reads, for a ServiceAccount without a role of its own.

import type { ServiceAccountRecord } from "../mutation/pod.js";
import { serviceAccountRecord } from "./records.js";

/** The ConfigMap the reference (and kOps, which generates it) uses; the name is fixed there too. */
export const configMapName = "pod-identity-webhook";
/** The data key holding the JSON map from `namespace/serviceaccount` to an entry. */
export const configMapKey = "config";
// A key "*/name" applies to a ServiceAccount of that name in every namespace without an entry of its own.
export const anyNamespace = "*";

/** One ServiceAccount's configuration, as the reference's `cache.Entry` holds it. */
export interface ConfigMapEntry {
  readonly roleArn: string;
  readonly audience: string;
  readonly useRegionalSts: boolean;
  /** Seconds; 0 means "the default" (`--token-expiration`), as in the reference. */
  readonly tokenExpiration: number;
}

/** Entries by namespace, then ServiceAccount name (namespace `*` for the wildcard). */
export type ConfigMapEntries = ReadonlyMap<string, ReadonlyMap<string, ConfigMapEntry>>;

export const noEntries: ConfigMapEntries = new Map();

export type ConfigMapParse =
  | {
      readonly ok: true;
      readonly entries: ConfigMapEntries;
      readonly count: number;
      /** Fields no entry field matches, as `key.field`: the reference ignores them too, we name them in a warning. */
      readonly unknownFields: readonly string[];
    }
  | { readonly ok: false; readonly error: string };

type FieldName = keyof ConfigMapEntry;

// Go's encoding/json matches a JSON key to a struct field case-insensitively, so `roleArn` works in the reference.
const fieldsByLowerName = new Map<string, FieldName>([
  ["rolearn", "roleArn"],
  ["audience", "audience"],
  ["useregionalsts", "useRegionalSts"],
  ["tokenexpiration", "tokenExpiration"],
]);

/**
 * Parses the ConfigMap's data. All or nothing: where the reference would fail (not JSON, a value of the wrong
 * type) or crash (a key without `/`, a null entry), the whole ConfigMap is refused, so the caller keeps the last
 * good entries instead of a half-applied map.
 */
export function parseConfigMapData(data: Readonly<Record<string, unknown>> | undefined): ConfigMapParse {
  const text = data?.[configMapKey];
  if (typeof text !== "string")
    return refuse(
      `it has no data key "${configMapKey}"; add the JSON map from "namespace/serviceaccount" to entries there`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return refuse(`data.${configMapKey} is not JSON: ${(error as Error).message}`);
  }
  // The reference decodes JSON null into an empty map.
  if (parsed === null) return { ok: true, entries: noEntries, count: 0, unknownFields: [] };
  if (!isObject(parsed))
    return refuse(
      `data.${configMapKey} is ${describe(parsed)}, not an object mapping "namespace/serviceaccount" to entries`,
    );

  const entries = new Map<string, Map<string, ConfigMapEntry>>();
  const unknownFields: string[] = [];
  let count = 0;
  for (const [key, value] of Object.entries(parsed)) {
    const slash = key.indexOf("/");
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (slash <= 0 || name === "" || name.includes("/"))
      return refuse(`key ${JSON.stringify(key)} is not "namespace/serviceaccount" (or "*/serviceaccount")`);
    if (!isObject(value))
      return refuse(
        `${JSON.stringify(key)} is ${describe(value)}, not an object like {"RoleARN": "arn:aws:iam::111122223333:role/name"}`,
      );
    const entry = parseEntry(key, value, unknownFields);
    if (typeof entry === "string") return refuse(entry);
    let byName = entries.get(namespace);
    if (byName === undefined) {
      byName = new Map();
      entries.set(namespace, byName);
    }
    byName.set(name, entry);
    count++;
  }
  return { ok: true, entries, count, unknownFields };
}

function parseEntry(
  key: string,
  value: Readonly<Record<string, unknown>>,
  unknownFields: string[],
): ConfigMapEntry | string {
  const entry = { roleArn: "", audience: "", useRegionalSts: false, tokenExpiration: 0 };
  // In document order, so a later key wins as in Go when two spellings name one field.
  for (const [jsonName, fieldValue] of Object.entries(value)) {
    const field = fieldsByLowerName.get(jsonName.toLowerCase());
    if (field === undefined) {
      unknownFields.push(`${key}.${jsonName}`);
      continue;
    }
    // Go leaves a field at its zero value for JSON null.
    if (fieldValue === null) continue;
    const where = `${JSON.stringify(key)}.${jsonName}`;
    switch (field) {
      case "roleArn":
      case "audience":
        if (typeof fieldValue !== "string") return `${where} is ${describe(fieldValue)}, not a string`;
        entry[field] = fieldValue;
        break;
      case "useRegionalSts":
        if (typeof fieldValue !== "boolean")
          return `${where} is ${describe(fieldValue)}, not true or false (JSON booleans, unquoted)`;
        entry.useRegionalSts = fieldValue;
        break;
      case "tokenExpiration":
        if (typeof fieldValue !== "number" || !Number.isSafeInteger(fieldValue))
          return `${where} is ${describe(fieldValue)}, not a whole number of seconds (e.g. 86400)`;
        entry.tokenExpiration = fieldValue;
        break;
    }
  }
  return Object.freeze(entry);
}

/** The entry for namespace/name: its own, else the `*` one, as the reference looks them up. */
export function configMapEntryFor(
  entries: ConfigMapEntries,
  namespace: string,
  name: string,
): ConfigMapEntry | undefined {
  return entries.get(namespace)?.get(name) ?? entries.get(anyNamespace)?.get(name);
}

/** The annotation keys an entry becomes (`annotationVocabulary(prefix).keys` fits). */
export interface EntryAnnotationKeys {
  readonly roleArn: string;
  readonly audience: string;
  readonly stsRegionalEndpoints: string;
  readonly tokenExpiration: string;
}

/**
 * What the engine sees for namespace/name. The reference's precedence: a ServiceAccount with a non-empty
 * role-arn annotation is used as it is; otherwise an entry replaces role, audience, regional STS and expiration
 * (the ServiceAccount's own values of those are not mixed in), keeping its other annotations. An entry also
 * stands for a ServiceAccount the source does not hold, as in the reference.
 */
export function mergeConfigMapEntry(
  record: ServiceAccountRecord | undefined,
  namespace: string,
  name: string,
  entries: ConfigMapEntries,
  keys: EntryAnnotationKeys,
): ServiceAccountRecord | undefined {
  const own = record?.annotations[keys.roleArn];
  if (own !== undefined && own !== "") return record;
  const entry = configMapEntryFor(entries, namespace, name);
  if (entry === undefined) return record;
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(record?.annotations ?? {})) {
    if (
      key !== keys.roleArn &&
      key !== keys.audience &&
      key !== keys.stsRegionalEndpoints &&
      key !== keys.tokenExpiration
    )
      annotations[key] = value;
  }
  // An entry without a role leaves the pod alone, as the reference's handler does for an empty RoleARN.
  if (entry.roleArn !== "") annotations[keys.roleArn] = entry.roleArn;
  // An empty Audience means the default audience (kOps always writes one).
  if (entry.audience !== "") annotations[keys.audience] = entry.audience;
  // The reference takes UseRegionalSTS from the entry, false included, over --sts-regional-endpoint.
  annotations[keys.stsRegionalEndpoints] = String(entry.useRegionalSts);
  if (entry.tokenExpiration !== 0) annotations[keys.tokenExpiration] = String(entry.tokenExpiration);
  return serviceAccountRecord(
    record?.namespace ?? namespace,
    record?.name ?? name,
    Object.freeze(annotations),
  );
}

function refuse(error: string): ConfigMapParse {
  return { ok: false, error };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 100))}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
