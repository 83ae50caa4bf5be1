// Renders the Helm chart with the real helm binary and parses the manifests; shared by the chart tests and e2e.

import { execFile } from "node:child_process";
import { access, constants, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

/** The chart's directory. */
export const chartDir = fileURLToPath(new URL("../../charts/web-identity-webhook", import.meta.url));

/** The helm binary: $HELM, else the one scripts/install-helm.sh puts in .cache/bin. */
export const helmPath = process.env.HELM ?? fileURLToPath(new URL("../../.cache/bin/helm", import.meta.url));

/** Any rendered Kubernetes object; narrow it with findObject's type parameter. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
}

export interface RenderOptions {
  /** Release name; default "wiw". */
  readonly releaseName?: string;
  /** Release namespace; default "iam". */
  readonly namespace?: string;
  /** Values files applied before `values`, e.g. the chart's ci/*-values.yaml. */
  readonly valuesFiles?: readonly string[];
  /** Raw --set arguments, applied last (to test how helm types command-line values). */
  readonly set?: readonly string[];
}

/** helm exited non-zero; `stderr` holds its message. */
export class HelmError extends Error {
  override readonly name = "HelmError";
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`helm ${args.join(" ")} failed: ${stderr.trim()}`);
  }
}

/** Runs helm with `args`; rejects with a HelmError on a non-zero exit, or a clear error when helm is missing. */
export async function runHelm(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    await access(helmPath, constants.X_OK);
  } catch {
    throw new Error(
      `helm is not installed at ${helmPath}: run scripts/install-helm.sh first (or set HELM to a helm 3 binary)`,
    );
  }
  try {
    return await run(helmPath, [...args], { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    if (typeof stderr === "string") throw new HelmError(args, stderr);
    throw error;
  }
}

/**
 * `helm template` of the chart with `values` (merged over the chart's defaults and any valuesFiles),
 * parsed into its objects in helm's order. Rejects with a HelmError when helm refuses the values.
 */
export async function renderChart(
  values: Readonly<Record<string, unknown>> = {},
  options: RenderOptions = {},
): Promise<KubeObject[]> {
  const dir = await mkdtemp(join(tmpdir(), "wiw-chart-"));
  try {
    const valuesFile = join(dir, "values.json");
    await writeFile(valuesFile, JSON.stringify(values));
    const args = [
      "template",
      options.releaseName ?? "wiw",
      chartDir,
      "--namespace",
      options.namespace ?? "iam",
      ...(options.valuesFiles ?? []).flatMap((file) => ["--values", file]),
      "--values",
      valuesFile,
      ...(options.set ?? []).flatMap((expression) => ["--set", expression]),
    ];
    const { stdout } = await runHelm(args);
    return parseManifests(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses a multi-document YAML stream into objects, skipping empty documents; throws on invalid YAML. */
export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if ("errors" in document && document.errors.length > 0) {
      throw new Error(`helm rendered invalid YAML: ${document.errors.map((e) => e.message).join("; ")}`);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as KubeObject);
  }
  return objects;
}

/** The one object of `kind` (and `name`, if given); throws naming what was rendered when there is not exactly one. */
export function findObject<T extends KubeObject = KubeObject>(
  objects: readonly KubeObject[],
  kind: string,
  name?: string,
): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    const rendered = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");
    throw new Error(
      `expected one ${kind}${name ? ` named ${name}` : ""}, found ${found.length} among: ${rendered}`,
    );
  }
  return found[0] as T;
}

/** Every object of `kind`. */
export function findObjects<T extends KubeObject = KubeObject>(
  objects: readonly KubeObject[],
  kind: string,
): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}
