// `web-identity-webhook mutate`: the engine offline, on manifest files; prints {"patch", "warnings"}.

import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { engineOptionsFrom, rolePolicyFileFrom } from "../config/config.js";
import { engineFlags, type FlagSpec } from "../config/flags.js";
import { ConfigError, formatFlagHelp, parseFlags, stringValue } from "../config/parse.js";
import { isRelevantAnnotation } from "../identity/annotations.js";
import { decide } from "../mutation/decide.js";
import type { EngineOptions } from "../mutation/options.js";
import type { Pod, ServiceAccountRecord } from "../mutation/pod.js";
import { readRolePolicyFile } from "../policy/file.js";
import { type CliIo, exitCode } from "./io.js";

const mutateFlags: readonly FlagSpec[] = [
  { name: "pod", kind: "string", help: "Pod manifest (YAML or JSON) to run through the engine" },
  {
    name: "service-account",
    kind: "string",
    help: "The pod's ServiceAccount manifest; without it the pod is treated as having no ServiceAccount",
  },
  ...engineFlags,
];

export const mutateUsage = `Usage: web-identity-webhook mutate --pod POD.yaml [--service-account SA.yaml] [flags]

Runs the mutation engine offline and prints one JSON object {"patch": [...], "warnings": [...]}:
the JSON Patch the webhook would return for this pod, and the warnings kubectl would show.

Flags:
${formatFlagHelp(mutateFlags)}`;

export async function runMutate(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(`${mutateUsage}\n`);
    return exitCode.ok;
  }
  try {
    const { values, positionals } = parseFlags(mutateFlags, argv, io.env);
    if (positionals.length > 0)
      throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const podPath = stringValue(values, "pod");
    if (podPath === undefined) throw new ConfigError("--pod is required");
    const policyPath = rolePolicyFileFrom(values);
    const engine = engineOptionsFrom(values);
    const options: EngineOptions =
      policyPath === undefined ? engine : { ...engine, rolePolicy: await readRolePolicyFile(policyPath) };
    const pod = asPod(await readManifest(podPath), podPath);
    const saPath = stringValue(values, "service-account");
    const serviceAccount =
      saPath === undefined
        ? undefined
        : asServiceAccount(await readManifest(saPath), saPath, pod, options.annotationPrefix);
    const decision = decide(pod, serviceAccount, options);
    io.stdout.write(`${JSON.stringify({ patch: decision.patch, warnings: decision.warnings })}\n`);
    return exitCode.ok;
  } catch (error) {
    io.stderr.write(
      `web-identity-webhook mutate: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return exitCode.usage;
  }
}

async function readManifest(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid YAML or JSON: ${(error as Error).message.split("\n")[0]}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asPod(manifest: unknown, path: string): Pod {
  if (!isObject(manifest) || manifest.kind !== "Pod")
    throw new ConfigError(`${path} does not hold a Pod (kind: Pod)`);
  const spec = manifest.spec;
  if (!isObject(spec) || !Array.isArray(spec.containers))
    throw new ConfigError(`${path}: spec.containers is missing`);
  // The API server copies the deprecated spec.serviceAccount into an empty serviceAccountName before any
  // webhook sees the pod; do the same so the answer is what the webhook would give for this manifest.
  const { serviceAccount, serviceAccountName } = spec;
  if ((serviceAccountName === undefined || serviceAccountName === "") && typeof serviceAccount === "string") {
    return { ...manifest, spec: { ...spec, serviceAccountName: serviceAccount } } as Pod;
  }
  return manifest as Pod;
}

function asServiceAccount(manifest: unknown, path: string, pod: Pod, prefix: string): ServiceAccountRecord {
  if (!isObject(manifest) || manifest.kind !== "ServiceAccount" || !isObject(manifest.metadata)) {
    throw new ConfigError(`${path} does not hold a ServiceAccount (kind: ServiceAccount)`);
  }
  const { name, namespace, annotations } = manifest.metadata;
  const podServiceAccount = pod.spec?.serviceAccountName || "default";
  if (name !== podServiceAccount) {
    throw new ConfigError(
      `${path} holds ServiceAccount ${JSON.stringify(name)} but the pod runs as ${JSON.stringify(podServiceAccount)}`,
    );
  }
  const kept: Record<string, string> = {};
  if (isObject(annotations)) {
    for (const [key, value] of Object.entries(annotations)) {
      if (typeof value === "string" && isRelevantAnnotation(key, prefix)) kept[key] = value;
    }
  }
  return {
    name,
    namespace: typeof namespace === "string" ? namespace : (pod.metadata?.namespace ?? "default"),
    annotations: kept,
  };
}
