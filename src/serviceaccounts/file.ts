// `--service-accounts-file`: ServiceAccounts from a YAML file instead of a cluster (local runs, tests).

import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import type { ServiceAccountRecord } from "../mutation/pod.js";
import { type KeepAnnotation, keptAnnotations, ServiceAccountIndex } from "./records.js";
import type { ServiceAccountSource } from "./source.js";

/** A manifest that cannot be used; the message names the file, the item and the field. */
export class ServiceAccountFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServiceAccountFileError";
  }
}

interface Located {
  readonly value: unknown;
  /** Where the value sits: `items[2]`, `document 3`, `document 2 items[0]`, or "" for the file's only document. */
  readonly where: string;
  /** A whole document, which could also have been a List. */
  readonly isDocument: boolean;
}

/**
 * Reads the file once, at start: a YAML list of ServiceAccounts, a `kind: List` or `ServiceAccountList` with
 * `items`, or several YAML documents of either. A ServiceAccount without a namespace is in "default".
 */
export class ServiceAccountFile implements ServiceAccountSource {
  readonly #path: string;
  readonly #keep: KeepAnnotation;
  #index = new ServiceAccountIndex();
  #ready = false;

  constructor(path: string, keepAnnotation: KeepAnnotation) {
    this.#path = path;
    this.#keep = keepAnnotation;
  }

  peek(namespace: string, name: string): ServiceAccountRecord | undefined {
    return this.#index.get(namespace, name);
  }

  async get(namespace: string, name: string): Promise<ServiceAccountRecord | undefined> {
    return this.#index.get(namespace, name);
  }

  isReady(): boolean {
    return this.#ready;
  }

  size(): number {
    return this.#index.size;
  }

  async start(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#path, "utf8");
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ServiceAccountFileError(`--service-accounts-file ${this.#path}: cannot read it (${reason})`);
    }
    this.#index = this.#parse(text);
    this.#ready = true;
  }

  async stop(): Promise<void> {}

  #parse(text: string): ServiceAccountIndex {
    const index = new ServiceAccountIndex();
    const definedAt = new Map<string, string>();
    for (const manifest of this.#manifests(text)) {
      const { where } = manifest;
      const account = this.#serviceAccount(manifest);
      const key = `${account.namespace}/${account.name}`;
      const first = definedAt.get(key);
      if (first !== undefined)
        this.#fail(where, `ServiceAccount ${key} is defined twice (first at ${first})`);
      definedAt.set(key, where);
      index.put(account.namespace, account.name, keptAnnotations(account.annotations, this.#keep));
    }
    return index;
  }

  /** Every ServiceAccount manifest in the file, with where it is. */
  #manifests(text: string): Located[] {
    const documents = Array.from(parseAllDocuments(text));
    const many = documents.length > 1;
    const manifests: Located[] = [];
    for (const [d, document] of documents.entries()) {
      const where = many ? `document ${d + 1}` : "";
      const error = document.errors[0];
      if (error !== undefined)
        this.#fail(where, `not valid YAML: ${error.message.split("\n")[0]?.replace(/:$/, "")}`);
      const value: unknown = document.toJS();
      if (value === null || value === undefined) continue;
      let items: unknown[];
      if (Array.isArray(value)) items = value;
      else if (isObject(value) && (value.kind === "List" || value.kind === "ServiceAccountList")) {
        if (!Array.isArray(value.items)) this.#fail(where, `a ${value.kind} without an items list`);
        items = value.items;
      } else {
        manifests.push({ value, where, isDocument: true });
        continue;
      }
      for (const [i, item] of items.entries())
        manifests.push({
          value: item,
          where: many ? `${where} items[${i}]` : `items[${i}]`,
          isDocument: false,
        });
    }
    return manifests;
  }

  #serviceAccount({ value, where, isDocument }: Located): {
    namespace: string;
    name: string;
    annotations: Record<string, unknown> | undefined;
  } {
    if (!isObject(value)) this.#fail(where, "not a ServiceAccount (a mapping with kind: ServiceAccount)");
    if (value.kind !== "ServiceAccount") {
      const expected = isDocument ? `"ServiceAccount", "List" or "ServiceAccountList"` : `"ServiceAccount"`;
      this.#fail(where, `kind is ${JSON.stringify(value.kind)}, expected ${expected}`);
    }
    if (value.apiVersion !== undefined && value.apiVersion !== "v1")
      this.#fail(where, `apiVersion is ${JSON.stringify(value.apiVersion)}, expected "v1"`);
    const metadata = value.metadata;
    if (!isObject(metadata)) this.#fail(where, "metadata is missing");
    const { name, namespace = "default", annotations } = metadata;
    if (typeof name !== "string" || name === "")
      this.#fail(
        where,
        `metadata.name is ${name === undefined ? "missing" : JSON.stringify(name)}, expected a name`,
      );
    if (typeof namespace !== "string" || namespace === "")
      this.#fail(where, `metadata.namespace is ${JSON.stringify(namespace)}, expected a namespace name`);
    if (annotations === undefined || annotations === null) return { namespace, name, annotations: undefined };
    if (!isObject(annotations)) this.#fail(where, "metadata.annotations is not a mapping of strings");
    for (const [key, annotation] of Object.entries(annotations)) {
      if (typeof annotation !== "string")
        this.#fail(
          where,
          `metadata.annotations[${JSON.stringify(key)}] is ${JSON.stringify(annotation)}, not a string: quote it (${JSON.stringify(String(annotation))})`,
        );
    }
    return { namespace, name, annotations };
  }

  #fail(where: string, problem: string): never {
    const location = where === "" ? "" : ` ${where}:`;
    throw new ServiceAccountFileError(`--service-accounts-file ${this.#path}:${location} ${problem}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
