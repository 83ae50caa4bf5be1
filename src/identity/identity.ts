// ServiceAccount annotations (and the pod's own) → the Identity a pod receives, with warnings for what was not used.

import {
  type AnnotationMatch,
  type AnnotationVocabulary,
  annotationNames,
  annotationVocabulary,
  matchAnnotationKey,
} from "./annotations.js";
import { parseTokenExpiration } from "./expiration.js";
import { quoted } from "./quote.js";
import { roleArnProblem } from "./role-arn.js";
import { parseSkipContainers } from "./skip-containers.js";

/** The operator's defaults this module needs; `EngineOptions` satisfies it. */
export interface IdentityOptions {
  readonly annotationPrefix: string;
  readonly defaultAudience: string;
  readonly defaultExpiration: number;
  readonly stsRegionalEndpoint: boolean;
}

/** What a mutated pod is given: the role to assume and how its web identity token is projected. */
export interface Identity {
  readonly roleArn: string;
  readonly audience: string;
  readonly expirationSeconds: number;
  /** Inject AWS_STS_REGIONAL_ENDPOINTS=regional. */
  readonly stsRegionalEndpoints: boolean;
}

export type Annotations = Readonly<Record<string, string>>;

export interface AnnotatedServiceAccount {
  readonly name: string;
  readonly annotations: Annotations;
}

export interface IdentityResolution {
  /** Undefined when there is no ServiceAccount or it has no (non-blank) role-arn annotation. */
  readonly identity: Identity | undefined;
  /** Names from the pod's skip-containers annotation (only read when there is an identity). */
  readonly skipContainers: readonly string[];
  /** One line each, for AdmissionResponse.warnings. */
  readonly warnings: readonly string[];
}

const noNames: readonly string[] = Object.freeze([]);

// Go's strconv.ParseBool, which the reference uses for sts-regional-endpoints.
const booleanValues: ReadonlyMap<string, boolean> = new Map([
  ...["1", "t", "T", "TRUE", "true", "True"].map((value) => [value, true] as const),
  ...["0", "f", "F", "FALSE", "false", "False"].map((value) => [value, false] as const),
]);

/**
 * Resolves the identity: role, audience and regional STS from the ServiceAccount; token expiration from
 * the pod, else the ServiceAccount, else the default. A role-arn on the pod is never read: the role comes
 * only from the ServiceAccount, which is the security boundary.
 */
export function resolveIdentity(
  serviceAccount: AnnotatedServiceAccount | undefined,
  podAnnotations: Annotations | null | undefined,
  options: IdentityOptions,
): IdentityResolution {
  const vocabulary = annotationVocabulary(options.annotationPrefix);
  const warnings: string[] = [];
  const identity =
    serviceAccount === undefined
      ? undefined
      : serviceAccountIdentity(serviceAccount, vocabulary, options, warnings);
  if (podAnnotations == null) return { identity, skipContainers: noNames, warnings };
  return withPodAnnotations(identity, podAnnotations, vocabulary, warnings);
}

function serviceAccountIdentity(
  serviceAccount: AnnotatedServiceAccount,
  vocabulary: AnnotationVocabulary,
  options: IdentityOptions,
  warnings: string[],
): Identity | undefined {
  const { annotations } = serviceAccount;
  const { keys } = vocabulary;
  const source = `ServiceAccount ${serviceAccount.name}`;
  const roleArn = annotations[keys.roleArn]?.trim() ?? "";
  warnAboutServiceAccountKeys(serviceAccount, vocabulary, roleArn !== "", warnings);
  if (roleArn === "") return undefined;
  const problem = roleArnProblem(roleArn);
  if (problem !== undefined) {
    warnings.push(
      `${source}: ${keys.roleArn} ${quoted(roleArn)} ${problem}; use arn:aws:iam::<12-digit account>:role/<name>`,
    );
  }

  let audience = annotations[keys.audience] ?? options.defaultAudience;
  if (audience.trim() === "") {
    warnings.push(
      `${source}: ${keys.audience} is blank; using ${quoted(options.defaultAudience)}. Set it or remove it`,
    );
    audience = options.defaultAudience;
  }

  let stsRegionalEndpoints = options.stsRegionalEndpoint;
  const sts = annotations[keys.stsRegionalEndpoints];
  if (sts !== undefined) {
    const parsed = booleanValues.get(sts);
    if (parsed === undefined) {
      warnings.push(
        `${source}: ${keys.stsRegionalEndpoints} ${quoted(sts)} is not "true" or "false"; using ${options.stsRegionalEndpoint}`,
      );
    } else {
      stsRegionalEndpoints = parsed;
    }
  }

  let expirationSeconds = options.defaultExpiration;
  const expiration = annotations[keys.tokenExpiration];
  if (expiration !== undefined) {
    const parsed = parseTokenExpiration(
      expiration,
      options.defaultExpiration,
      `${source}: ${keys.tokenExpiration}`,
    );
    if (parsed.warning !== undefined) warnings.push(parsed.warning);
    expirationSeconds = parsed.seconds;
  }

  return { roleArn, audience, expirationSeconds, stsRegionalEndpoints };
}

function warnAboutServiceAccountKeys(
  serviceAccount: AnnotatedServiceAccount,
  vocabulary: AnnotationVocabulary,
  hasRole: boolean,
  warnings: string[],
): void {
  for (const key in serviceAccount.annotations) {
    const match = matchAnnotationKey(key, vocabulary);
    if (match === undefined) continue;
    const source = `ServiceAccount ${serviceAccount.name}`;
    if (match.kind === "exact") {
      if (match.name === annotationNames.skipContainers) {
        warnings.push(`${source}: ${key} is read only on pods; move it to the pod template`);
      }
    } else if (match.name === annotationNames.skipContainers) {
      warnings.push(
        `${source}: annotation ${quoted(key)} is not read; skip-containers belongs on the pod template`,
      );
    } else if (!(match.foreignPrefix && hasRole)) {
      warnings.push(
        `${source}: annotation ${quoted(key)} is not read; did you mean ${intendedKey(match, vocabulary)}?`,
      );
    }
  }
}

function withPodAnnotations(
  identity: Identity | undefined,
  podAnnotations: Annotations,
  vocabulary: AnnotationVocabulary,
  warnings: string[],
): IdentityResolution {
  let podExpiration: number | undefined;
  let skipContainers = noNames;
  for (const key in podAnnotations) {
    const match = matchAnnotationKey(key, vocabulary);
    if (match === undefined) continue;
    const value = podAnnotations[key] ?? "";
    switch (match.kind === "exact" ? match.name : undefined) {
      case annotationNames.tokenExpiration:
        if (identity !== undefined) {
          const parsed = parseTokenExpiration(value, identity.expirationSeconds, `pod annotation ${key}`);
          if (parsed.warning !== undefined) warnings.push(parsed.warning);
          podExpiration = parsed.seconds;
        }
        continue;
      case annotationNames.skipContainers:
        if (identity !== undefined) skipContainers = parseSkipContainers(value);
        continue;
    }
    if (match.kind === "near-miss" && match.foreignPrefix && identity !== undefined) continue;
    warnings.push(podKeyWarning(key, match, vocabulary));
  }
  const podIdentity =
    identity === undefined || podExpiration === undefined || podExpiration === identity.expirationSeconds
      ? identity
      : { ...identity, expirationSeconds: podExpiration };
  return { identity: podIdentity, skipContainers, warnings };
}

function podKeyWarning(key: string, match: AnnotationMatch, vocabulary: AnnotationVocabulary): string {
  switch (match.name) {
    case annotationNames.roleArn:
      return `pod annotation ${quoted(key)} is ignored: a pod's IAM role comes only from its ServiceAccount's ${vocabulary.keys.roleArn}`;
    case annotationNames.audience:
    case annotationNames.stsRegionalEndpoints:
      return `pod annotation ${quoted(key)} is ignored: set ${intendedKey(match, vocabulary)} on the ServiceAccount instead`;
    default:
      return `pod annotation ${quoted(key)} is not read; did you mean ${intendedKey(match, vocabulary)}?`;
  }
}

function intendedKey(match: AnnotationMatch, vocabulary: AnnotationVocabulary): string {
  return `${vocabulary.prefix}/${match.name}`;
}
