// Security: only a ServiceAccount's annotation chooses a pod's role, the role policy is enforced, TLS is strict,
// no admission endpoint is plaintext, and the log holds no secret, token, key or pod spec.

import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import type { Operation } from "fast-json-patch";
import { defaultEngineOptions } from "../../src/mutation/options.js";
import type { ServiceAccountRecord } from "../../src/mutation/pod.js";
import { rolePolicyFrom } from "../../src/policy/role-policy.js";
import { FakeServiceAccountSource } from "../server/support/fake-serviceaccount-source.js";
import { handshake, review as sendReview } from "../server/support/https-client.js";
import { startTestWebhook, type TestWebhook } from "../server/support/webhook.js";
import { checkAnswer } from "./support/answer-check.js";
import { type InMemoryWebhook, inMemoryWebhook } from "./support/app.js";

const prefix = "eks.amazonaws.com";
const appRole = "arn:aws:iam::111122223333:role/app";
const adminRole = "arn:aws:iam::111122223333:role/admin";
const otherRole = "arn:aws:iam::444455556666:role/other-team";
const serviceAccounts: readonly ServiceAccountRecord[] = [
  { namespace: "shop", name: "app", annotations: { [`${prefix}/role-arn`]: appRole } },
  { namespace: "shop", name: "admin", annotations: { [`${prefix}/role-arn`]: adminRole } },
  { namespace: "shop", name: "plain", annotations: {} },
  { namespace: "other", name: "app", annotations: { [`${prefix}/role-arn`]: otherRole } },
];

type Json = Record<string, unknown>;

function podReview(object: Json, namespace = "shop"): Json & { request: Json & { uid: string } } {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "0b7c4a2e-security",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      namespace,
      operation: "CREATE",
      object,
    },
  };
}

/** What a pod is given: each container's injected AWS_ROLE_ARN (by container index) and the token audience. */
interface Granted {
  readonly roles: Record<string, string>;
  readonly audience: string | undefined;
  readonly warnings: readonly string[];
}

function granted(patch: readonly Operation[] | undefined, warnings: readonly string[]): Granted {
  const roles: Record<string, string> = {};
  let audience: string | undefined;
  for (const operation of patch ?? []) {
    const value = (operation as { value?: unknown }).value;
    const container = /^\/spec\/((?:init)?[cC]ontainers)\/(\d+)\/env/.exec(operation.path);
    if (container !== null) {
      const variables = (Array.isArray(value) ? value : [value]) as { name: string; value: string }[];
      for (const variable of variables) {
        if (variable.name === "AWS_ROLE_ARN") roles[`${container[1]}/${container[2]}`] = variable.value;
      }
    }
    if (operation.path.startsWith("/spec/volumes")) {
      const volumes = (Array.isArray(value) ? value : [value]) as Json[];
      const projected = volumes[0]?.projected as { sources: { serviceAccountToken: { audience: string } }[] };
      audience = projected.sources[0]?.serviceAccountToken.audience;
    }
  }
  return { roles, audience, warnings };
}

describe("a pod can only get its ServiceAccount's role", () => {
  let webhook: InMemoryWebhook;
  before(async () => {
    webhook = await inMemoryWebhook({ serviceAccounts, engine: defaultEngineOptions });
  });
  after(async () => {
    await webhook.app.close();
  });

  async function admit(object: Json, namespace?: string): Promise<Granted> {
    const body = podReview(object, namespace);
    const answer = checkAnswer(body, await webhook.post(body));
    assert.ok(answer?.allowed);
    return granted(answer.patch, answer.warnings);
  }

  const container = (name: string, env?: Json[]) => ({ name, image: "app:1", ...(env ? { env } : {}) });

  test("ignores a role-arn annotation on the pod, and warns about it", async () => {
    const result = await admit({
      metadata: { annotations: { [`${prefix}/role-arn`]: adminRole } },
      spec: { serviceAccountName: "app", containers: [container("c")] },
    });
    assert.deepEqual(result.roles, { "containers/0": appRole });
    assert.deepEqual(result.warnings, [
      `pod annotation "${prefix}/role-arn" is ignored: a pod's IAM role comes only from its ServiceAccount's ${prefix}/role-arn`,
    ]);
  });

  test("gives no role to a pod whose ServiceAccount has none, whatever the pod's annotation says", async () => {
    const result = await admit({
      metadata: { annotations: { [`${prefix}/role-arn`]: adminRole } },
      spec: { serviceAccountName: "plain", containers: [container("c")] },
    });
    assert.deepEqual(result.roles, {});
    assert.equal(result.warnings.length, 1);
  });

  for (const key of [
    "eks.amazon.com/role-arn",
    `${prefix}/rolearn`,
    `${prefix}/Role-Arn`,
    "EKS.AMAZONAWS.COM/role-arn",
    `${prefix}/role_arn`,
    "role-arn",
  ]) {
    test(`ignores the near-miss pod annotation ${key}, and warns about it`, async () => {
      const result = await admit({
        metadata: { annotations: { [key]: adminRole } },
        spec: { serviceAccountName: "app", containers: [container("c")] },
      });
      assert.deepEqual(result.roles, { "containers/0": appRole });
      assert.equal(result.warnings.length, 1);
      assert.ok(result.warnings[0]?.includes(JSON.stringify(key)), result.warnings[0]);
    });
  }

  test("ignores role-arn under another tool's prefix without a warning (it may be that tool's)", async () => {
    const result = await admit({
      metadata: { annotations: { "iam.example.com/role-arn": adminRole } },
      spec: { serviceAccountName: "app", containers: [container("c")] },
    });
    assert.deepEqual(result.roles, { "containers/0": appRole });
    assert.deepEqual(result.warnings, []);
  });

  test("ignores labels named like the annotation", async () => {
    const result = await admit({
      metadata: { labels: { [`${prefix}/role-arn`]: "admin" } },
      spec: { serviceAccountName: "app", containers: [container("c")] },
    });
    assert.deepEqual(result.roles, { "containers/0": appRole });
    assert.deepEqual(result.warnings, []);
  });

  test("ignores a pod audience annotation: the token audience comes from the ServiceAccount", async () => {
    const result = await admit({
      metadata: { annotations: { [`${prefix}/audience`]: "attacker.example.com" } },
      spec: { serviceAccountName: "app", containers: [container("c")] },
    });
    assert.equal(result.audience, "sts.amazonaws.com");
    assert.match(
      result.warnings[0] ?? "",
      /is ignored: set eks.amazonaws.com\/audience on the ServiceAccount/,
    );
  });

  test("keeps a container's own AWS_ROLE_ARN in that container only; the others and the audience are unchanged", async () => {
    const result = await admit({
      spec: {
        serviceAccountName: "app",
        initContainers: [container("init", [{ name: "AWS_ROLE_ARN", value: adminRole }])],
        containers: [container("own", [{ name: "AWS_ROLE_ARN", value: adminRole }]), container("plain")],
      },
    });
    // The user's container keeps its value (by design: it is their container, and it can only present the
    // ServiceAccount's token, which the other role's trust policy decides on); nothing leaks elsewhere.
    assert.deepEqual(result.roles, { "containers/1": appRole });
    assert.equal(result.audience, "sts.amazonaws.com");
  });

  test("uses serviceAccountName, which the API server enforces, over the deprecated serviceAccount", async () => {
    const result = await admit({
      spec: { serviceAccountName: "app", serviceAccount: "admin", containers: [container("c")] },
    });
    assert.deepEqual(result.roles, { "containers/0": appRole });
  });

  test("never reads the deprecated serviceAccount field, even alone", async () => {
    // The API server copies it into serviceAccountName before admission, so a real review never has it alone.
    const result = await admit({ spec: { serviceAccount: "admin", containers: [container("c")] } });
    assert.deepEqual(result.roles, {});
    assert.deepEqual(webhook.source.lookups.at(-1), "shop/default");
  });

  test("looks the ServiceAccount up in request.namespace, not in the pod's metadata.namespace", async () => {
    const inShop = await admit(
      { metadata: { namespace: "other" }, spec: { serviceAccountName: "app", containers: [container("c")] } },
      "shop",
    );
    assert.deepEqual(inShop.roles, { "containers/0": appRole });
    const inOther = await admit(
      { metadata: { namespace: "shop" }, spec: { serviceAccountName: "app", containers: [container("c")] } },
      "other",
    );
    assert.deepEqual(inOther.roles, { "containers/0": otherRole });
  });

  test("injects a pod that has only a generateName, and logs that name", async () => {
    const result = await admit({
      metadata: { generateName: "web-5d8f7-" },
      spec: { serviceAccountName: "app", containers: [container("c")] },
    });
    assert.deepEqual(result.roles, { "containers/0": appRole });
    const line = webhook.log.lines().at(-1);
    assert.equal(line?.pod, "web-5d8f7-");
  });
});

describe("the role policy in the server", () => {
  let webhook: InMemoryWebhook;
  before(async () => {
    webhook = await inMemoryWebhook({
      serviceAccounts,
      engine: {
        ...defaultEngineOptions,
        rolePolicy: rolePolicyFrom({ namespaces: { shop: ["arn:aws:iam::111122223333:role/app"] } }),
      },
    });
  });
  after(async () => {
    await webhook.app.close();
  });

  test("admits a pod whose role is outside its namespace's patterns without credentials, and counts why", async () => {
    for (const [namespace, serviceAccountName, expected] of [
      ["shop", "app", "mutated"],
      ["shop", "admin", "role-not-allowed"],
      ["other", "app", "role-not-allowed"],
    ] as const) {
      const body = podReview({ spec: { serviceAccountName, containers: [{ name: "c" }] } }, namespace);
      const answer = checkAnswer(body, await webhook.post(body));
      assert.ok(answer?.allowed);
      assert.equal(answer.patch !== undefined, expected === "mutated");
      assert.equal(webhook.log.lines().at(-1)?.reason, expected);
      if (expected === "role-not-allowed") assert.match(answer.warnings[0] ?? "", /role policy/);
    }
    const metrics = await webhook.metrics.registry.metrics();
    assert.match(
      metrics,
      /web_identity_webhook_reviews_total\{outcome="skipped",reason="role-not-allowed"\} 2/,
    );
  });
  test("refuses a role-arn with a newline and a second ARN that a * pattern would have matched, and counts why", async () => {
    const smuggled = `${appRole}-x\narn:aws:iam::999999999999:role/admin`;
    const policyWebhook = await inMemoryWebhook({
      serviceAccounts: [
        { namespace: "shop", name: "smuggler", annotations: { [`${prefix}/role-arn`]: smuggled } },
      ],
      engine: {
        ...defaultEngineOptions,
        rolePolicy: rolePolicyFrom({ namespaces: { shop: [`${appRole}-*`] } }),
      },
    });
    try {
      const body = podReview(
        { spec: { serviceAccountName: "smuggler", containers: [{ name: "c" }] } },
        "shop",
      );
      const answer = checkAnswer(body, await policyWebhook.post(body));
      assert.ok(answer?.allowed);
      assert.equal(answer.patch, undefined);
      assert.equal(policyWebhook.log.lines().at(-1)?.reason, "role-arn-invalid");
      assert.match(answer.warnings[1] ?? "", /role policy admits only IAM role ARNs/);
      assert.match(
        await policyWebhook.metrics.registry.metrics(),
        /web_identity_webhook_reviews_total\{outcome="skipped",reason="role-arn-invalid"\} 1/,
      );
    } finally {
      await policyWebhook.app.close();
    }
  });
});

function plainHttp(port: number, method: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

describe("transport", () => {
  let webhook: TestWebhook;
  before(async () => {
    webhook = await startTestWebhook({ metricsPort: 0 });
  });
  after(async () => {
    await webhook.stop();
  });

  const refused: { name: string; options: object }[] = [
    {
      name: "TLS 1.1",
      options: { minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" },
    },
    {
      name: "TLS 1.2 with only CBC suites",
      options: {
        maxVersion: "TLSv1.2",
        ciphers:
          "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256",
      },
    },
    {
      name: "TLS 1.2 with only RSA key exchange (no forward secrecy)",
      options: { maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256" },
    },
  ];
  for (const { name, options } of refused) {
    test(`refuses a client offering ${name}`, async () => {
      await assert.rejects(handshake(webhook.port, webhook.ca, options));
    });
  }

  test("accepts TLS 1.2 with an ECDHE AEAD suite, and TLS 1.3", async () => {
    const tls12 = await handshake(webhook.port, webhook.ca, {
      maxVersion: "TLSv1.2",
      ciphers: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    assert.equal(tls12.protocol, "TLSv1.2");
    assert.equal((await handshake(webhook.port, webhook.ca, {})).protocol, "TLSv1.3");
  });

  test("answers no plain-HTTP request on the HTTPS port", async () => {
    const outcome = await plainHttp(webhook.port, "POST", "/mutate").then(
      (answer) => `HTTP ${answer.status}`,
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    );
    assert.doesNotMatch(outcome, /^HTTP 2/, `plain HTTP got ${outcome}`);
  });

  test("serves only GET /metrics on the plain-HTTP metrics port, never /mutate or the probes", async () => {
    const port = webhook.server.metricsAddress()?.port ?? 0;
    for (const [method, path] of [
      ["POST", "/mutate"],
      ["GET", "/mutate"],
      ["GET", "/readyz"],
    ] as const) {
      const answer = await plainHttp(port, method, path);
      assert.equal(answer.status, 404, `${method} ${path}`);
    }
    assert.equal((await plainHttp(port, "GET", "/metrics")).status, 200);
  });
});

describe("the log", () => {
  const secrets = {
    accessKey: "AKIAIOSFODNN7EXAMPLE",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    token: "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl",
    annotation: "annotation-value-that-must-not-be-logged",
    image: "registry.example.com/payments/ledger:9.9.9-private",
    password: "hunter2-but-longer-and-unique",
    command: "--db-password=letmein-unique",
  };
  let webhook: TestWebhook;
  before(async () => {
    webhook = await startTestWebhook({
      source: new FakeServiceAccountSource([
        {
          namespace: "shop",
          name: "app",
          annotations: { [`${prefix}/role-arn`]: appRole, [`${prefix}/audience`]: secrets.annotation },
        },
      ]),
    });
  });
  after(async () => {
    await webhook.stop();
  });

  test("holds no env value, annotation, token, key, image or other pod field at info level", async () => {
    const pod = {
      metadata: {
        generateName: "ledger-",
        annotations: {
          "example.com/secret": secrets.annotation,
          [`${prefix}/token-expiration`]: secrets.password,
          [`${prefix}/role-arn`]: secrets.accessKey,
        },
        labels: { leak: "label-value-unique" },
      },
      spec: {
        serviceAccountName: "app",
        containers: [
          {
            name: "ledger",
            image: secrets.image,
            args: [secrets.command],
            env: [
              { name: "AWS_ACCESS_KEY_ID", value: secrets.accessKey },
              { name: "AWS_SECRET_ACCESS_KEY", value: secrets.secretKey },
              { name: "TOKEN", value: secrets.token },
            ],
            volumeMounts: [{ name: "creds", mountPath: "/var/secret-unique-path" }],
          },
        ],
        volumes: [{ name: "creds", secret: { secretName: "db-password-unique" } }],
      },
    };
    const missing = podReview({ ...pod, spec: { ...pod.spec, serviceAccountName: "ghost" } });
    for (const body of [podReview(pod), missing, podReview(pod, "")]) {
      assert.equal((await sendReview(webhook, body)).status, 200);
    }
    const text = webhook.log
      .lines()
      .map((line) => JSON.stringify(line))
      .join("\n");
    assert.match(text, /"msg":"review"/, "the reviews were logged");
    for (const value of [
      ...Object.values(secrets),
      "label-value-unique",
      "/var/secret-unique-path",
      "db-password-unique",
      webhook.volume.trusted[0]?.slice(30, 90) ?? "",
      "PRIVATE KEY",
      "containers",
    ]) {
      assert.ok(!text.includes(value), `the log holds ${JSON.stringify(value)}`);
    }
  });
});
