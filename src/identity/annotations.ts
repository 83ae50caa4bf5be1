// The annotation vocabulary under a prefix: the keys the webhook reads, their near misses, and what a cache keeps.

import { isWithinEditDistance } from "./edit-distance.js";

/** Annotation names, as written after `<prefix>/`. */
export const annotationNames = {
  roleArn: "role-arn",
  audience: "audience",
  stsRegionalEndpoints: "sts-regional-endpoints",
  tokenExpiration: "token-expiration",
  skipContainers: "skip-containers",
} as const;

export type AnnotationName = (typeof annotationNames)[keyof typeof annotationNames];

/** How an annotation key relates to the vocabulary; `undefined` from `matchAnnotationKey` means "unrelated". */
export type AnnotationMatch =
  | { readonly kind: "exact"; readonly name: AnnotationName }
  | {
      readonly kind: "near-miss";
      readonly name: AnnotationName;
      /** `role-arn` under an unrelated prefix: possibly another tool's, so only worth a word when no role is set. */
      readonly foreignPrefix: boolean;
    };

export interface AnnotationVocabulary {
  readonly prefix: string;
  /** `<prefix>/<name>` for each name. */
  readonly keys: { readonly [K in keyof typeof annotationNames]: string };
  readonly exactMatches: ReadonlyMap<string, AnnotationMatch>;
  readonly lowerPrefix: string;
  readonly prefixTolerance: number;
}

interface KnownName {
  readonly name: AnnotationName;
  readonly normalized: string;
  readonly tolerance: number;
}

const knownNames: readonly KnownName[] = Object.values(annotationNames).map((name) => {
  const normalized = normalizeName(name);
  return { name, normalized, tolerance: normalized.length <= 8 ? 1 : 2 };
});
const roleArnNormalized = normalizeName(annotationNames.roleArn);
// Names outside these lengths cannot be near a known name (separators only make a raw name longer).
const shortestCandidate = Math.min(...knownNames.map((known) => known.normalized.length)) - 2;
const longestCandidate = 64;

// A memo of immutable values derived from the prefix; in practice one entry per process.
const vocabularies = new Map<string, AnnotationVocabulary>();
const maxVocabularies = 16;

/** The vocabulary for a prefix, built once per prefix. */
export function annotationVocabulary(prefix: string): AnnotationVocabulary {
  let vocabulary = vocabularies.get(prefix);
  if (vocabulary === undefined) {
    if (vocabularies.size >= maxVocabularies) vocabularies.clear();
    vocabulary = buildVocabulary(prefix);
    vocabularies.set(prefix, vocabulary);
  }
  return vocabulary;
}

function buildVocabulary(prefix: string): AnnotationVocabulary {
  const keys = {
    roleArn: `${prefix}/${annotationNames.roleArn}`,
    audience: `${prefix}/${annotationNames.audience}`,
    stsRegionalEndpoints: `${prefix}/${annotationNames.stsRegionalEndpoints}`,
    tokenExpiration: `${prefix}/${annotationNames.tokenExpiration}`,
    skipContainers: `${prefix}/${annotationNames.skipContainers}`,
  };
  const exactMatches = new Map<string, AnnotationMatch>();
  for (const { name } of knownNames) exactMatches.set(name, Object.freeze({ kind: "exact", name }));
  const lowerPrefix = prefix.toLowerCase();
  // "eks.amazon.com" for "eks.amazonaws.com" is three edits; short prefixes get less slack.
  const prefixTolerance = lowerPrefix.length >= 12 ? 3 : lowerPrefix.length >= 6 ? 2 : 1;
  return { prefix, keys, exactMatches, lowerPrefix, prefixTolerance };
}

/**
 * Whether a ServiceAccount annotation must be kept for identity and warnings to work:
 * every key under the prefix, and every near miss of a key the webhook reads.
 */
export function isRelevantAnnotation(key: string, annotationPrefix: string): boolean {
  if (isUnderPrefix(key, annotationPrefix)) return true;
  return matchAnnotationKey(key, annotationVocabulary(annotationPrefix)) !== undefined;
}

/**
 * Classifies a key: an exact key of the vocabulary, a near miss of one (typo in the prefix or the name,
 * wrong case, `_` for `-`, missing prefix, `role-arn` under another prefix), or unrelated (`undefined`).
 */
export function matchAnnotationKey(
  key: string,
  vocabulary: AnnotationVocabulary,
): AnnotationMatch | undefined {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0 && isUnderPrefix(key, vocabulary.prefix)) {
    const exact = vocabulary.exactMatches.get(name);
    if (exact !== undefined) return exact;
  }
  const known = nearestKnownName(name);
  if (known === undefined) return undefined;
  if (slash < 0) return { kind: "near-miss", name: known.name, foreignPrefix: false };
  const lowerKeyPrefix = key.slice(0, slash).toLowerCase();
  if (isWithinEditDistance(lowerKeyPrefix, vocabulary.lowerPrefix, vocabulary.prefixTolerance)) {
    return { kind: "near-miss", name: known.name, foreignPrefix: false };
  }
  if (known.name === annotationNames.roleArn && normalizeName(name) === roleArnNormalized) {
    return { kind: "near-miss", name: known.name, foreignPrefix: true };
  }
  return undefined;
}

function isUnderPrefix(key: string, prefix: string): boolean {
  return key.length > prefix.length + 1 && key.charCodeAt(prefix.length) === 47 && key.startsWith(prefix);
}

function nearestKnownName(name: string): KnownName | undefined {
  if (name.length < shortestCandidate || name.length > longestCandidate) return undefined;
  const normalized = normalizeName(name);
  for (const known of knownNames) {
    if (normalized === known.normalized) return known;
  }
  for (const known of knownNames) {
    if (isWithinEditDistance(normalized, known.normalized, known.tolerance)) return known;
    // "iam-role-arn", "eks-role-arn": a known name with a short word added.
    if (normalized.length <= known.normalized.length + 4 && normalized.includes(known.normalized)) {
      return known;
    }
  }
  return undefined;
}

/** Lower case without separators: "Role_ARN" and "role-arn" both become "rolearn". */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]/g, "");
}
