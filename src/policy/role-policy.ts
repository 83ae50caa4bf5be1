// The per-namespace role policy (--role-policy-file): which IAM role ARNs a namespace's ServiceAccounts may name.

/**
 * One allowed-role glob: `*` matches any run of characters (`/` and `:` included), `?` exactly one; neither
 * matches a line break, so a value with a second line never matches.
 */
export interface RolePattern {
  /** As written in the policy file. */
  readonly pattern: string;
  readonly matcher: RegExp;
}

/**
 * Allowed role ARN patterns per namespace. A namespace with an entry uses only that entry; one without uses
 * the "*" entry; one with neither may use no role at all.
 */
export interface RolePolicy {
  readonly namespaces: ReadonlyMap<string, readonly RolePattern[]>;
}

/** The key of the entry that applies to namespaces without one of their own. */
const defaultNamespaceKey = "*";

/** A policy that cannot be used; the message names the entry and the bad value. */
export class RolePolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RolePolicyError";
  }
}

// A role ARN with wildcards allowed in every part: arn:<partition>:iam::<account>:role/<path/name>.
const rolePatternShape = /^arn:[a-z*?-]+:iam::[0-9*?]+:role\/[\w+=,.@/*?-]+$/;
// A namespace name (an RFC 1123 label).
const namespaceShape = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Compiles one glob into an anchored, case-sensitive matcher. */
function rolePattern(pattern: string): RolePattern {
  let source = "";
  for (const character of pattern) {
    if (character === "*") source += ".*";
    else if (character === "?") source += ".";
    else source += character.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  // Without the "s" flag `.` stops at line breaks, and `$` (no "m" flag) only matches at the very end.
  return { pattern, matcher: new RegExp(`^${source}$`) };
}

/**
 * The policy from a parsed policy document `{namespaces: {<namespace or "*">: [<role ARN pattern>, ...]}}`.
 * Throws a RolePolicyError naming the first bad entry.
 */
export function rolePolicyFrom(document: unknown): RolePolicy {
  if (!isObject(document)) throw new RolePolicyError("the policy is not a mapping with a `namespaces` key");
  for (const key of Object.keys(document)) {
    if (key !== "namespaces") {
      throw new RolePolicyError(`unknown key ${JSON.stringify(key)}; the policy has only \`namespaces\``);
    }
  }
  const entries = document.namespaces;
  if (!isObject(entries)) {
    throw new RolePolicyError(
      '`namespaces` is not a mapping of namespace (or "*") to a list of role ARN patterns',
    );
  }
  const namespaces = new Map<string, readonly RolePattern[]>();
  for (const [namespace, patterns] of Object.entries(entries)) {
    const where = `namespaces.${JSON.stringify(namespace)}`;
    if (namespace !== defaultNamespaceKey && !namespaceShape.test(namespace)) {
      throw new RolePolicyError(`${where}: ${JSON.stringify(namespace)} is not a namespace name or "*"`);
    }
    if (!Array.isArray(patterns)) {
      throw new RolePolicyError(`${where}: not a list of role ARN patterns (write [] to allow no role)`);
    }
    namespaces.set(
      namespace,
      patterns.map((pattern, index) => checkedPattern(pattern, `${where}[${index}]`)),
    );
  }
  return { namespaces };
}

function checkedPattern(pattern: unknown, where: string): RolePattern {
  if (typeof pattern !== "string") {
    throw new RolePolicyError(`${where}: ${JSON.stringify(pattern)} is not a string`);
  }
  if (!rolePatternShape.test(pattern)) {
    throw new RolePolicyError(
      `${where}: ${JSON.stringify(pattern)} is not a role ARN pattern; write arn:<partition>:iam::<account>:role/<name>, with * and ? as wildcards`,
    );
  }
  return rolePattern(pattern);
}

/** The patterns that apply in a namespace: its own entry, else the "*" entry, else none (no role allowed). */
function patternsFor(policy: RolePolicy, namespace: string): readonly RolePattern[] {
  return policy.namespaces.get(namespace) ?? policy.namespaces.get(defaultNamespaceKey) ?? [];
}

/** True when a ServiceAccount in `namespace` may give its pods `roleArn`. */
export function isRoleAllowed(policy: RolePolicy, namespace: string, roleArn: string): boolean {
  for (const { matcher } of patternsFor(policy, namespace)) {
    if (matcher.test(roleArn)) return true;
  }
  return false;
}
