// IAM trust policies that let one ServiceAccount (or a wildcard of them) assume a role through the cluster's issuer.

import { issuerHostPath, issuerProblem } from "./issuer.js";

export interface TrustPolicyRequest {
  /** Validated issuer URL (https, no trailing slash). */
  readonly issuer: string;
  readonly accountId: string;
  /** Namespace, or an IAM wildcard pattern using `*` and `?`. */
  readonly namespace: string;
  /** ServiceAccount name, or an IAM wildcard pattern using `*` and `?`. */
  readonly serviceAccount: string;
  readonly audience: string;
  /** AWS partition: aws, aws-cn, aws-us-gov, ... */
  readonly partition: string;
}

export interface TrustPolicy {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Effect: "Allow";
    readonly Principal: { readonly Federated: string };
    readonly Action: "sts:AssumeRoleWithWebIdentity";
    readonly Condition: Readonly<Record<string, Readonly<Record<string, string>>>>;
  }[];
}

export class TrustPolicyError extends Error {
  override readonly name = "TrustPolicyError";
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabelPattern = /^[-a-z0-9*?]+$/;
const dnsSubdomainPattern = /^[-a-z0-9.*?]+$/;

/** Throws a TrustPolicyError naming the first bad value; the messages name the flag that carries it. */
export function validateTrustPolicyRequest(request: TrustPolicyRequest): void {
  const problem = issuerProblem(request.issuer);
  if (problem !== undefined) throw new TrustPolicyError(`--issuer: ${problem}`);
  if (!/^\d{12}$/.test(request.accountId)) {
    throw new TrustPolicyError(
      `--account-id: ${JSON.stringify(request.accountId)} is not a 12-digit AWS account ID`,
    );
  }
  if (!/^aws(-[a-z]+)*$/.test(request.partition)) {
    throw new TrustPolicyError(
      `--partition: ${JSON.stringify(request.partition)} is not an AWS partition (aws, aws-cn, aws-us-gov, ...)`,
    );
  }
  checkName(
    "--namespace",
    request.namespace,
    { literal: dnsLabel, pattern: dnsLabelPattern },
    63,
    "a DNS-1123 label",
  );
  checkName(
    "--service-account",
    request.serviceAccount,
    { literal: dnsSubdomain, pattern: dnsSubdomainPattern },
    253,
    "a DNS-1123 subdomain",
  );
  if (request.audience === "") throw new TrustPolicyError("--audience must not be empty");
}

/** Whether IAM must match the value as a pattern (StringLike) rather than literally (StringEquals). */
export function isWildcard(name: string): boolean {
  return name.includes("*") || name.includes("?");
}

/** The role trust policy: the provider as principal, sub and aud pinned (sub by pattern when it has wildcards). */
export function buildTrustPolicy(request: TrustPolicyRequest): TrustPolicy {
  const provider = issuerHostPath(request.issuer);
  const subject = `system:serviceaccount:${request.namespace}:${request.serviceAccount}`;
  const audience = { [`${provider}:aud`]: request.audience };
  const condition = isWildcard(subject)
    ? { StringEquals: audience, StringLike: { [`${provider}:sub`]: subject } }
    : { StringEquals: { [`${provider}:sub`]: subject, ...audience } };
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: {
          Federated: `arn:${request.partition}:iam::${request.accountId}:oidc-provider/${provider}`,
        },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: condition,
      },
    ],
  };
}

/** The AWS CLI command that registers the issuer with IAM (once per account and issuer). */
export function createProviderCommand(issuer: string, audience: string): string {
  return `aws iam create-open-id-connect-provider --url ${shellQuote(issuer)} --client-id-list ${shellQuote(audience)}`;
}

function checkName(
  flag: string,
  value: string,
  syntax: { literal: RegExp; pattern: RegExp },
  maxLength: number,
  kind: string,
): void {
  const valid = (isWildcard(value) ? syntax.pattern : syntax.literal).test(value);
  if (!valid || value.length > maxLength) {
    throw new TrustPolicyError(
      `${flag}: ${JSON.stringify(value)} is not ${kind} (lower-case letters, digits, '-'${kind.endsWith("subdomain") ? ", '.'" : ""}; at most ${maxLength} characters) or a pattern with * and ?`,
    );
  }
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
