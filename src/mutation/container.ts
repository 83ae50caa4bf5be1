// The per-container changes: the token mount and the AWS environment, each added only where missing.

import type { Operation } from "fast-json-patch";
import { quoted } from "../identity/quote.js";
import { type MutationPlan, normalizeMountPath } from "./plan.js";
import type { Container, EnvFromSource, EnvVar, VolumeMount } from "./pod.js";
import { tokenVolumeName } from "./volume.js";

const noOperations: readonly Operation[] = Object.freeze([]);
const noEnv: readonly EnvVar[] = Object.freeze([]);

const webIdentityNames: ReadonlySet<string> = new Set(["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
const regionNames: ReadonlySet<string> = new Set(["AWS_REGION", "AWS_DEFAULT_REGION"]);
const stsRegionalEndpointsName = "AWS_STS_REGIONAL_ENDPOINTS";

interface DefinedGroups {
  webIdentity: boolean;
  region: boolean;
  stsRegionalEndpoints: boolean;
}

function definedGroups(env: readonly EnvVar[]): DefinedGroups {
  const defined = { webIdentity: false, region: false, stsRegionalEndpoints: false };
  for (const variable of env) {
    if (webIdentityNames.has(variable.name)) defined.webIdentity = true;
    else if (regionNames.has(variable.name)) defined.region = true;
    else if (variable.name === stsRegionalEndpointsName) defined.stsRegionalEndpoints = true;
  }
  return defined;
}

/**
 * True when the container already sets a web identity variable, a region and AWS_STS_REGIONAL_ENDPOINTS:
 * it manages its own AWS configuration, so it gets neither environment nor mount (the reference's rule).
 */
export function setsAllAwsVariables(container: Container): boolean {
  const defined = definedGroups(container.env ?? noEnv);
  return defined.webIdentity && defined.region && defined.stsRegionalEndpoints;
}

/**
 * The AWS variables the container lacks, in the reference's order: AWS_STS_REGIONAL_ENDPOINTS,
 * AWS_DEFAULT_REGION + AWS_REGION, AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE. A variable the container
 * defines in `env` wins; either region variable counts for both, and either web identity variable for both.
 */
export function missingEnvironment(container: Container, plan: MutationPlan): readonly EnvVar[] {
  const defined = definedGroups(container.env ?? noEnv);
  const added: EnvVar[] = [];
  if (!defined.stsRegionalEndpoints && plan.stsRegionalEndpoints !== undefined)
    added.push(plan.stsRegionalEndpoints);
  if (!defined.region) added.push(...plan.region);
  if (!defined.webIdentity) added.push(...plan.webIdentity);
  return added;
}

/** The operations that append `added` (from missingEnvironment) to the container's env. */
export function addEnvironment(
  container: Container,
  containerPath: string,
  added: readonly EnvVar[],
): readonly Operation[] {
  if (added.length === 0) return noOperations;
  if (container.env == null) return [{ op: "add", path: `${containerPath}/env`, value: added }];
  return added.map((variable) => ({ op: "add", path: `${containerPath}/env/-`, value: variable }));
}

function envFromSourceName(source: EnvFromSource): string {
  if (source.configMapRef != null) return `ConfigMap ${quoted(source.configMapRef.name ?? "")}`;
  if (source.secretRef != null) return `Secret ${quoted(source.secretRef.name ?? "")}`;
  return "a source";
}

/**
 * A warning when an envFrom source could set a variable the webhook adds: Kubernetes gives `env` precedence
 * over `envFrom`, and the engine cannot see a ConfigMap's or Secret's keys, so the webhook's value wins.
 */
export function envFromWarning(container: Container, added: readonly EnvVar[]): string | undefined {
  const sources = container.envFrom;
  if (sources == null || sources.length === 0 || added.length === 0) return undefined;
  const shadowing: string[] = [];
  const names = new Set<string>();
  for (const source of sources) {
    const prefix = source.prefix ?? "";
    const matching = added.filter((variable) => variable.name.startsWith(prefix));
    if (matching.length === 0) continue;
    shadowing.push(envFromSourceName(source));
    for (const variable of matching) names.add(variable.name);
  }
  if (shadowing.length === 0) return undefined;
  return (
    `container ${quoted(container.name)}: the webhook sets ${[...names].join(", ")} in env, which takes ` +
    `precedence over the same names from envFrom (${shadowing.join(", ")}); to keep your own values, set them in env`
  );
}

/** True for the webhook's own mount: the token volume at the token path, whole (no subPath). */
function isTokenMount(mount: VolumeMount, plan: MutationPlan): boolean {
  return (
    mount.name === tokenVolumeName &&
    normalizeMountPath(mount.mountPath) === plan.normalizedMountPath &&
    !mount.subPath &&
    !mount.subPathExpr
  );
}

function isAtOrUnder(path: string, directory: string): boolean {
  return path === directory || path.startsWith(directory === "/" ? "/" : `${directory}/`);
}

/**
 * A warning when the container already uses the token volume or the token path for something else: the
 * token volume mounted elsewhere (or in part), or another volume at or under the token path. Such a
 * container gets neither mount nor environment, since AWS_WEB_IDENTITY_TOKEN_FILE would name a file
 * that is not the token.
 */
export function tokenMountConflict(container: Container, plan: MutationPlan): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    if (isTokenMount(mount, plan)) continue;
    const path = quoted(mount.mountPath, 256);
    if (mount.name === tokenVolumeName) {
      return (
        `container ${quoted(container.name)} mounts volume ${tokenVolumeName} at ${path}${mount.subPath || mount.subPathExpr ? " with a subPath" : ""}, ` +
        `not whole at ${JSON.stringify(plan.mountPath)}; it gets no AWS environment or token mount. ` +
        `Mount it there without subPath, or set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN in env yourself`
      );
    }
    if (isAtOrUnder(normalizeMountPath(mount.mountPath), plan.normalizedMountPath)) {
      return (
        `container ${quoted(container.name)} mounts volume ${quoted(mount.name)} at ${path}, the webhook's token ` +
        `path ${JSON.stringify(plan.mountPath)}; it gets no AWS environment or token mount, since ` +
        `AWS_WEB_IDENTITY_TOKEN_FILE would name a file that is not the token. Mount that volume elsewhere`
      );
    }
  }
  return undefined;
}

/** True when the container already has the webhook's token mount (a pod mutated before). */
export function hasTokenMount(container: Container, plan: MutationPlan): boolean {
  return (container.volumeMounts ?? []).some((mount) => isTokenMount(mount, plan));
}

/** Adds the read-only token mount unless the container has it (run tokenMountConflict first). */
export function addTokenMount(
  container: Container,
  containerPath: string,
  plan: MutationPlan,
): readonly Operation[] {
  const mounts = container.volumeMounts;
  if (mounts == null) return [{ op: "add", path: `${containerPath}/volumeMounts`, value: [plan.mount] }];
  if (hasTokenMount(container, plan)) return noOperations;
  return [{ op: "add", path: `${containerPath}/volumeMounts/-`, value: plan.mount }];
}
