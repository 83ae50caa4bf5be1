import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runTrustPolicy } from "../../../src/cli/trust-policy.js";
import {
  buildTrustPolicy,
  createProviderCommand,
  TrustPolicyError,
  type TrustPolicyRequest,
  validateTrustPolicyRequest,
} from "../../../src/oidc/trust-policy.js";
import { captureIo } from "./capture.js";

const request: TrustPolicyRequest = {
  issuer: "https://oidc.example.com/clusters/prod",
  accountId: "123456789012",
  namespace: "payments",
  serviceAccount: "ledger",
  audience: "sts.amazonaws.com",
  partition: "aws",
};

const flags = [
  "--issuer",
  request.issuer,
  "--account-id",
  request.accountId,
  "--namespace",
  request.namespace,
  "--service-account",
  request.serviceAccount,
];

describe("buildTrustPolicy", () => {
  it("pins sub and aud with StringEquals for a literal ServiceAccount", () => {
    assert.deepEqual(buildTrustPolicy(request), {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/clusters/prod" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              "oidc.example.com/clusters/prod:sub": "system:serviceaccount:payments:ledger",
              "oidc.example.com/clusters/prod:aud": "sts.amazonaws.com",
            },
          },
        },
      ],
    });
  });

  for (const [namespace, serviceAccount] of [
    ["team-*", "ledger"],
    ["payments", "ledger-?"],
  ] as const) {
    it(`matches sub with StringLike when ${namespace}:${serviceAccount} holds a wildcard, aud still with StringEquals`, () => {
      const policy = buildTrustPolicy({ ...request, namespace, serviceAccount });
      assert.deepEqual(policy.Statement[0]?.Condition, {
        StringEquals: { "oidc.example.com/clusters/prod:aud": "sts.amazonaws.com" },
        StringLike: {
          "oidc.example.com/clusters/prod:sub": `system:serviceaccount:${namespace}:${serviceAccount}`,
        },
      });
    });
  }

  it("uses the partition and audience it is given", () => {
    const policy = buildTrustPolicy({ ...request, partition: "aws-cn", audience: "my-audience" });
    assert.equal(
      policy.Statement[0]?.Principal.Federated,
      "arn:aws-cn:iam::123456789012:oidc-provider/oidc.example.com/clusters/prod",
    );
    assert.equal(
      policy.Statement[0]?.Condition.StringEquals?.["oidc.example.com/clusters/prod:aud"],
      "my-audience",
    );
  });
});

describe("validateTrustPolicyRequest", () => {
  const invalid: [string, Partial<TrustPolicyRequest>, string][] = [
    [
      "an account ID that is not 12 digits",
      { accountId: "12345" },
      '--account-id: "12345" is not a 12-digit AWS account ID',
    ],
    [
      "an issuer with a trailing slash",
      { issuer: "https://oidc.example.com/" },
      '--issuer: "https://oidc.example.com/" ends with "/"',
    ],
    [
      "a namespace with upper case",
      { namespace: "Payments" },
      "--namespace: \"Payments\" is not a DNS-1123 label (lower-case letters, digits, '-'; at most 63 characters) or a pattern with * and ?",
    ],
    ["a namespace with a dot", { namespace: "a.b" }, '--namespace: "a.b" is not a DNS-1123 label'],
    [
      "a ServiceAccount name with an underscore",
      { serviceAccount: "my_app" },
      '--service-account: "my_app" is not a DNS-1123 subdomain',
    ],
    ["an unknown partition", { partition: "azure" }, '--partition: "azure" is not an AWS partition'],
  ];
  for (const [name, change, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => validateTrustPolicyRequest({ ...request, ...change }),
        (error: unknown) => error instanceof TrustPolicyError && error.message.startsWith(message),
      );
    });
  }

  it("accepts dotted ServiceAccount names and wildcard patterns", () => {
    validateTrustPolicyRequest({ ...request, serviceAccount: "app.v2" });
    validateTrustPolicyRequest({ ...request, namespace: "*", serviceAccount: "*" });
  });
});

describe("trust-policy command", () => {
  it("prints only the policy JSON on stdout and the provider command as # lines on stderr", async () => {
    const captured = captureIo();
    assert.equal(await runTrustPolicy(flags, captured.io), 0);
    assert.equal(captured.stdout(), `${JSON.stringify(buildTrustPolicy(request), null, 2)}\n`);
    assert.deepEqual(JSON.parse(captured.stdout()), buildTrustPolicy(request));
    assert.equal(
      captured.stderr(),
      "# Register the issuer with IAM once per account (skip if arn:aws:iam::123456789012:oidc-provider/oidc.example.com/clusters/prod exists):\n" +
        "#   aws iam create-open-id-connect-provider --url https://oidc.example.com/clusters/prod --client-id-list sts.amazonaws.com\n" +
        "# No --thumbprint-list is needed when the issuer's certificate is publicly trusted (S3, CloudFront): IAM checks it against its trusted CAs.\n",
    );
  });

  it("prints just the provider command on stdout with --output command", async () => {
    const captured = captureIo();
    assert.equal(
      await runTrustPolicy([...flags, "--audience", "my audience", "--output", "command"], captured.io),
      0,
    );
    assert.equal(
      captured.stdout(),
      "aws iam create-open-id-connect-provider --url https://oidc.example.com/clusters/prod --client-id-list 'my audience'\n",
    );
    assert.equal(captured.stderr(), "");
  });

  it("exits 2 with one line on stderr for a bad account ID", async () => {
    const captured = captureIo();
    assert.equal(await runTrustPolicy([...flags, "--account-id", "nope"], captured.io), 2);
    assert.equal(
      captured.stderr(),
      'web-identity-webhook trust-policy: --account-id: "nope" is not a 12-digit AWS account ID\n',
    );
    assert.equal(captured.stdout(), "");
  });

  it("exits 2 naming the first missing flag", async () => {
    const captured = captureIo();
    assert.equal(await runTrustPolicy(["--issuer", request.issuer], captured.io), 2);
    assert.equal(captured.stderr(), "web-identity-webhook trust-policy: --account-id is required\n");
  });

  it("prints its usage on stdout for --help", async () => {
    const captured = captureIo();
    assert.equal(await runTrustPolicy(["--help"], captured.io), 0);
    assert.match(captured.stdout(), /^Usage: web-identity-webhook trust-policy --issuer URL --account-id ID/);
  });
});

describe("createProviderCommand", () => {
  it("quotes only what the shell would split", () => {
    assert.equal(
      createProviderCommand("https://oidc.example.com/x", "it's"),
      "aws iam create-open-id-connect-provider --url https://oidc.example.com/x --client-id-list 'it'\\''s'",
    );
  });
});
