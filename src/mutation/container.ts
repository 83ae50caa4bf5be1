// The per-container changes: the token mount and the AWS environment, each added only where missing.

import type { Operation } from "fast-json-patch";
import type { MutationPlan } from "./plan.js";
import type { Container, EnvVar } from "./pod.js";
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
 * Adds the AWS variables the container lacks, in the reference's order: AWS_STS_REGIONAL_ENDPOINTS,
 * AWS_DEFAULT_REGION + AWS_REGION, AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE. A variable the container
 * defines wins; either region variable counts for both, and either web identity variable for both.
 */
export function addEnvironment(
  container: Container,
  containerPath: string,
  plan: MutationPlan,
): readonly Operation[] {
  const defined = definedGroups(container.env ?? noEnv);
  const added: EnvVar[] = [];
  if (!defined.stsRegionalEndpoints && plan.stsRegionalEndpoints !== undefined)
    added.push(plan.stsRegionalEndpoints);
  if (!defined.region) added.push(...plan.region);
  if (!defined.webIdentity) added.push(...plan.webIdentity);
  if (added.length === 0) return noOperations;
  if (container.env == null) return [{ op: "add", path: `${containerPath}/env`, value: added }];
  return added.map((variable) => ({ op: "add", path: `${containerPath}/env/-`, value: variable }));
}

/** Adds the read-only token mount unless the container mounts something by that name or at that path. */
export function addTokenMount(
  container: Container,
  containerPath: string,
  plan: MutationPlan,
): readonly Operation[] {
  const mounts = container.volumeMounts;
  if (mounts == null) return [{ op: "add", path: `${containerPath}/volumeMounts`, value: [plan.mount] }];
  for (const mount of mounts) {
    if (mount.name === tokenVolumeName || mount.mountPath === plan.mountPath) return noOperations;
  }
  return [{ op: "add", path: `${containerPath}/volumeMounts/-`, value: plan.mount }];
}
