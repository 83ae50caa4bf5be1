// `web-identity-webhook trust-policy`: the IAM role trust policy for a ServiceAccount, and the command that registers the issuer.

import type { FlagSpec } from "../config/flags.js";
import { ConfigError, formatFlagHelp, requiredString } from "../config/parse.js";
import { issuerHostPath, stsAudience } from "../oidc/issuer.js";
import {
  buildTrustPolicy,
  createProviderCommand,
  TrustPolicyError,
  type TrustPolicyRequest,
  validateTrustPolicyRequest,
} from "../oidc/trust-policy.js";
import { type CliIo, exitCode } from "./io.js";
import { parseCommandFlags } from "./oidc.js";

const trustPolicyFlags: readonly FlagSpec[] = [
  { name: "issuer", kind: "string", help: "The cluster's public issuer URL (https, no trailing slash)" },
  {
    name: "account-id",
    kind: "string",
    help: "12-digit AWS account ID that owns the role and the IAM OIDC provider",
  },
  { name: "namespace", kind: "string", help: "Namespace of the ServiceAccount; * and ? make it a pattern" },
  { name: "service-account", kind: "string", help: "Name of the ServiceAccount; * and ? make it a pattern" },
  {
    name: "audience",
    kind: "string",
    default: stsAudience,
    help: "Audience the tokens carry (the webhook's --token-audience)",
  },
  { name: "partition", kind: "string", default: "aws", help: "AWS partition (aws, aws-cn, aws-us-gov, ...)" },
  {
    name: "output",
    kind: "string",
    default: "policy",
    choices: ["policy", "command"],
    help: "policy: the trust policy JSON on stdout, the provider command as # lines on stderr; command: only the provider command, on stdout",
  },
];

const usage = `Usage: web-identity-webhook trust-policy --issuer URL --account-id ID --namespace NS --service-account NAME [--audience AUD] [--partition aws] [--output policy|command]

Prints the IAM trust policy that lets ServiceAccount NS/NAME assume a role through your cluster's issuer:
the IAM OIDC provider as Federated principal, sts:AssumeRoleWithWebIdentity, and conditions on
HOST:sub (StringEquals, or StringLike when NS or NAME holds * or ?) and HOST:aud.
stdout carries only the JSON, so it can go straight to a file:
  web-identity-webhook trust-policy ... > trust.json
  aws iam create-role --role-name NAME --assume-role-policy-document file://trust.json
The aws iam create-open-id-connect-provider command that registers the issuer (once per account) goes to
stderr as # lines; --output command prints just that command on stdout.

Flags:
${formatFlagHelp(trustPolicyFlags)}
`;

/** Runs `trust-policy ...`; returns the exit code (0 ok, 2 bad usage or input). */
export async function runTrustPolicy(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(usage);
    return exitCode.ok;
  }
  let request: TrustPolicyRequest;
  let output: string;
  try {
    const values = parseCommandFlags(trustPolicyFlags, argv, io.env);
    request = {
      issuer: requiredString(values, "issuer"),
      accountId: requiredString(values, "account-id"),
      namespace: requiredString(values, "namespace"),
      serviceAccount: requiredString(values, "service-account"),
      audience: requiredString(values, "audience"),
      partition: requiredString(values, "partition"),
    };
    output = requiredString(values, "output");
    validateTrustPolicyRequest(request);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TrustPolicyError) {
      io.stderr.write(`web-identity-webhook trust-policy: ${error.message}\n`);
      return exitCode.usage;
    }
    throw error;
  }
  const command = createProviderCommand(request.issuer, request.audience);
  if (output === "command") {
    io.stdout.write(`${command}\n`);
    return exitCode.ok;
  }
  io.stdout.write(`${JSON.stringify(buildTrustPolicy(request), null, 2)}\n`);
  io.stderr.write(
    `# Register the issuer with IAM once per account (skip if arn:${request.partition}:iam::${request.accountId}:oidc-provider/${issuerHostPath(request.issuer)} exists):\n` +
      `#   ${command}\n` +
      "# No --thumbprint-list is needed when the issuer's certificate is publicly trusted (S3, CloudFront): IAM checks it against its trusted CAs.\n",
  );
  return exitCode.ok;
}
