// ServiceAccount records held in memory: only namespace, name and kept annotations, built to stay small at 100,000.

import type { ServiceAccountRecord } from "../mutation/pod.js";

/** Decides which annotation keys a record keeps (the server passes `isRelevantAnnotation` under its prefix). */
export type KeepAnnotation = (key: string) => boolean;

/** Shared by every ServiceAccount without a kept annotation, which is most of them. */
export const noAnnotations: Readonly<Record<string, string>> = Object.freeze({});

/** The annotations `keep` accepts, frozen; `noAnnotations` when none. */
export function keptAnnotations(
  annotations: Readonly<Record<string, unknown>> | undefined,
  keep: KeepAnnotation,
): Readonly<Record<string, string>> {
  let kept: Record<string, string> | undefined;
  if (annotations !== undefined) {
    for (const [key, value] of Object.entries(annotations)) {
      if (typeof value === "string" && keep(key)) {
        kept ??= {};
        kept[key] = value;
      }
    }
  }
  return kept === undefined ? noAnnotations : Object.freeze(kept);
}

/** A frozen record; `annotations` must already be filtered and frozen. */
export function serviceAccountRecord(
  namespace: string,
  name: string,
  annotations: Readonly<Record<string, string>>,
): ServiceAccountRecord {
  return Object.freeze({ namespace, name, annotations });
}

interface NamespaceAccounts {
  /** The one copy of the namespace string that every record of this namespace shares. */
  readonly namespace: string;
  readonly byName: Map<string, ServiceAccountRecord>;
}

/**
 * Records by namespace, then name: a lookup builds no key string, and each namespace string is stored once
 * however many ServiceAccounts it holds.
 */
export class ServiceAccountIndex {
  readonly #namespaces = new Map<string, NamespaceAccounts>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(namespace: string, name: string): ServiceAccountRecord | undefined {
    return this.#namespaces.get(namespace)?.byName.get(name);
  }

  /** Adds or replaces the record of namespace/name and returns it. */
  put(namespace: string, name: string, annotations: Readonly<Record<string, string>>): ServiceAccountRecord {
    let accounts = this.#namespaces.get(namespace);
    if (accounts === undefined) {
      accounts = { namespace, byName: new Map() };
      this.#namespaces.set(namespace, accounts);
    }
    const record = serviceAccountRecord(accounts.namespace, name, annotations);
    const before = accounts.byName.size;
    accounts.byName.set(name, record);
    this.#size += accounts.byName.size - before;
    return record;
  }

  delete(namespace: string, name: string): void {
    const accounts = this.#namespaces.get(namespace);
    if (accounts === undefined || !accounts.byName.delete(name)) return;
    this.#size--;
    if (accounts.byName.size === 0) this.#namespaces.delete(namespace);
  }
}
