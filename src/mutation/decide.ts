// The engine: (pod, ServiceAccount, options) → the JSON Patch that gives the pod its AWS web identity.

import type { Operation } from "fast-json-patch";
import { type Identity, resolveIdentity } from "../identity/identity.js";
import { quoted } from "../identity/quote.js";
import { isIamRoleArn } from "../identity/role-arn.js";
import { isRoleAllowed } from "../policy/role-policy.js";
import {
  addEnvironment,
  addTokenMount,
  envFromWarning,
  hasTokenMount,
  missingEnvironment,
  setsAllAwsVariables,
  tokenMountConflict,
} from "./container.js";
import { jsonPointer } from "./json-pointer.js";
import type { EngineOptions } from "./options.js";
import { type MutationPlan, planMutation } from "./plan.js";
import type { Container, Pod, ServiceAccountRecord } from "./pod.js";
import { addTokenVolume, tokenVolumeConflict } from "./volume.js";

export type DecisionReason =
  /** The patch adds the volume, mounts and/or environment. */
  | "mutated"
  /** Everything is already present: empty patch. */
  | "already-mutated"
  /** The ServiceAccount was not found. */
  | "no-serviceaccount"
  /** The ServiceAccount has no role-arn annotation. */
  | "no-role-arn"
  /** skip-containers named every container. */
  | "all-containers-skipped"
  /** The role-policy file does not allow the ServiceAccount's role in its namespace. */
  | "role-not-allowed"
  /** A role policy is set and the role-arn annotation is not an IAM role ARN (see isIamRoleArn). */
  | "role-arn-invalid"
  /** The pod has its own volume named aws-iam-token that is not the identity's token. */
  | "token-volume-conflict"
  /** Every container that would get credentials uses the token volume or the token path otherwise. */
  | "token-path-conflict";

export interface Decision {
  /** RFC 6902 operations, all "add"; empty when nothing is to change. */
  readonly patch: readonly Operation[];
  /** One line each, for AdmissionResponse.warnings. */
  readonly warnings: readonly string[];
  readonly reason: DecisionReason;
  /** The identity the pod receives (or already has), when its ServiceAccount names a role. */
  readonly identity?: Identity;
}

const noOperations: readonly Operation[] = Object.freeze([]);
const noContainers: readonly Container[] = Object.freeze([]);

const reasonTexts: Readonly<Record<DecisionReason, string>> = {
  mutated: "added the web identity token volume, mounts and AWS environment",
  "already-mutated": "the pod already has the web identity token volume, mounts and AWS environment",
  "no-serviceaccount": "the pod's ServiceAccount was not found",
  "no-role-arn": "the pod's ServiceAccount has no role-arn annotation",
  "all-containers-skipped": "the pod's skip-containers annotation names every container",
  "role-not-allowed": "the role policy does not allow the ServiceAccount's role in its namespace",
  "role-arn-invalid": "the ServiceAccount's role-arn is not an IAM role ARN, which a role policy refuses",
  "token-volume-conflict": "the pod's own aws-iam-token volume is not the web identity token",
  "token-path-conflict": "every container uses the token volume or the token path for something else",
};

/** The reason as a short sentence for logs. */
export function describeReason(reason: DecisionReason): string {
  return reasonTexts[reason];
}

/**
 * Decides the patch for a pod. It only adds what is missing, so a pod already mutated gets an empty patch,
 * and a pod reinvoked after another webhook added a container gets the environment and mount on that one.
 */
export function decide(
  pod: Pod,
  serviceAccount: ServiceAccountRecord | undefined,
  options: EngineOptions,
): Decision {
  const resolution = resolveIdentity(serviceAccount, pod.metadata?.annotations, options);
  const { identity, skipContainers } = resolution;
  if (serviceAccount === undefined) {
    return { patch: noOperations, warnings: resolution.warnings, reason: "no-serviceaccount" };
  }
  if (identity === undefined) {
    return { patch: noOperations, warnings: resolution.warnings, reason: "no-role-arn" };
  }
  if (options.rolePolicy !== undefined) {
    // Checked before matching: a pattern's * must never let a non-ARN (a newline and a second ARN,
    // 100 KB of text) through; the identity's warning already says what is wrong with the value.
    if (!isIamRoleArn(identity.roleArn)) {
      const refusal = `ServiceAccount ${serviceAccount.name}: the webhook's role policy admits only IAM role ARNs; pod admitted without AWS credentials`;
      return { patch: noOperations, warnings: [...resolution.warnings, refusal], reason: "role-arn-invalid" };
    }
    if (!isRoleAllowed(options.rolePolicy, serviceAccount.namespace, identity.roleArn)) {
      const refusal = `ServiceAccount ${serviceAccount.name}: role ${quoted(identity.roleArn)} is not allowed in namespace ${quoted(serviceAccount.namespace)} by the webhook's role policy; pod admitted without AWS credentials`;
      return { patch: noOperations, warnings: [...resolution.warnings, refusal], reason: "role-not-allowed" };
    }
  }

  const spec = pod.spec ?? {};
  const initContainers = spec.initContainers ?? noContainers;
  const containers = spec.containers ?? noContainers;
  const warnings =
    skipContainers.length === 0
      ? resolution.warnings
      : [
          ...resolution.warnings,
          ...unknownSkippedContainers(skipContainers, initContainers, containers, options),
        ];
  if (!hasUnskipped(initContainers, skipContainers) && !hasUnskipped(containers, skipContainers)) {
    return { patch: noOperations, warnings, reason: "all-containers-skipped", identity };
  }

  const volumeConflict = tokenVolumeConflict(spec, identity);
  if (volumeConflict !== undefined) {
    return {
      patch: noOperations,
      warnings: [...warnings, volumeConflict],
      reason: "token-volume-conflict",
      identity,
    };
  }

  const plan = planMutation(identity, pod, options);
  const containerPatch: Operation[] = [];
  const containerWarnings: string[] = [];
  const conflicts =
    addToContainers(
      containerPatch,
      containerWarnings,
      "initContainers",
      initContainers,
      skipContainers,
      plan,
    ) + addToContainers(containerPatch, containerWarnings, "containers", containers, skipContainers, plan);
  const allWarnings = containerWarnings.length === 0 ? warnings : [...warnings, ...containerWarnings];
  const mounted = (container: Container) => hasTokenMount(container, plan);
  if (
    conflicts > 0 &&
    containerPatch.length === 0 &&
    !initContainers.some(mounted) &&
    !containers.some(mounted)
  ) {
    return { patch: noOperations, warnings: allWarnings, reason: "token-path-conflict", identity };
  }
  const patch: Operation[] = [...addTokenVolume(spec, identity), ...containerPatch];
  return {
    patch,
    warnings: allWarnings,
    reason: patch.length === 0 ? "already-mutated" : "mutated",
    identity,
  };
}

/** Adds each eligible container's environment and mount; returns how many containers conflicted. */
function addToContainers(
  patch: Operation[],
  warnings: string[],
  field: "initContainers" | "containers",
  containers: readonly Container[],
  skipContainers: readonly string[],
  plan: MutationPlan,
): number {
  let conflicts = 0;
  for (let index = 0; index < containers.length; index++) {
    const container = containers[index];
    if (
      container === undefined ||
      skipContainers.includes(container.name) ||
      setsAllAwsVariables(container)
    ) {
      continue;
    }
    const conflict = tokenMountConflict(container, plan);
    if (conflict !== undefined) {
      warnings.push(conflict);
      conflicts++;
      continue;
    }
    const path = jsonPointer("spec", field, index);
    const added = missingEnvironment(container, plan);
    const shadowed = envFromWarning(container, added);
    if (shadowed !== undefined) warnings.push(shadowed);
    patch.push(...addEnvironment(container, path, added), ...addTokenMount(container, path, plan));
  }
  return conflicts;
}

function hasUnskipped(containers: readonly Container[], skipContainers: readonly string[]): boolean {
  for (const container of containers) {
    if (!skipContainers.includes(container.name)) return true;
  }
  return false;
}

function unknownSkippedContainers(
  skipContainers: readonly string[],
  initContainers: readonly Container[],
  containers: readonly Container[],
  options: EngineOptions,
): string[] {
  const warnings: string[] = [];
  for (const name of skipContainers) {
    if (initContainers.some((c) => c.name === name) || containers.some((c) => c.name === name)) continue;
    warnings.push(
      `pod annotation ${options.annotationPrefix}/skip-containers names ${quoted(name)}, which is not a container of this pod; check the spelling`,
    );
  }
  return warnings;
}
