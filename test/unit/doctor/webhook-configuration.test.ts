import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { MutatingWebhook, WebhookConfiguration } from "../../../src/doctor/api.js";
import { KubeApiError } from "../../../src/doctor/api.js";
import { checkWebhookConfiguration } from "../../../src/doctor/webhook-configuration.js";
import { formatCheck } from "../../../src/oidc/verify.js";
import { caBundleOf, createCa, type TestCa } from "./certificates.js";
import { configurationName, podWebhook, serviceRef as service, webhookName } from "./cluster-objects.js";
import { emptyCluster, fakeDoctorApi } from "./fake-doctor-api.js";

const name = configurationName;
const now = new Date();
let ca: TestCa;

async function run(configuration: WebhookConfiguration | Error | undefined, at = now) {
  const cluster = emptyCluster();
  if (configuration instanceof Error) cluster.failures.readWebhookConfiguration = configuration;
  else if (configuration !== undefined) cluster.webhookConfigurations.set(name, configuration);
  const result = await checkWebhookConfiguration(fakeDoctorApi(cluster), name, at);
  return { lines: result.checks.map(formatCheck), podWebhook: result.podWebhook };
}

function configurationWith(...webhooks: MutatingWebhook[]): WebhookConfiguration {
  return { name, webhooks };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function exactly(line: string): RegExp {
  return new RegExp(`^${escapeRegExp(line)}$`);
}

before(async () => {
  ca = await createCa("web-identity-webhook CA");
});

describe("checkWebhookConfiguration", () => {
  it("passes a configuration that sends pods CREATE without side effects, with a caBundle, and hands on its CA", async () => {
    const { lines, podWebhook: found } = await run(configurationWith(podWebhook(ca.cert)));
    assert.deepEqual(lines, [
      `ok   MutatingWebhookConfiguration ${name} exists`,
      `ok   webhook ${webhookName} has a rule for pods CREATE`,
      `ok   webhook ${webhookName} declares sideEffects None`,
      `ok   webhook ${webhookName} caBundle holds 1 certificate`,
    ]);
    assert.equal(found?.caPem, ca.cert);
    assert.equal(found?.webhook.name, webhookName);
  });

  it("picks the webhook entry whose rule matches pods CREATE, wildcards included", async () => {
    const other = podWebhook(ca.cert, {
      name: "other.example.com",
      rules: [
        { operations: ["CREATE"], apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"] },
      ],
    });
    const wildcard = podWebhook(ca.cert, {
      rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }],
    });
    const { lines } = await run(configurationWith(other, wildcard));
    assert.equal(lines[1], `ok   webhook ${webhookName} has a rule for pods CREATE`);
  });

  it("reports a missing configuration with how to install it or name it", async () => {
    assert.deepEqual((await run(undefined)).lines, [
      `FAIL MutatingWebhookConfiguration ${name} not found — fix: install the chart (helm install web-identity-webhook charts/web-identity-webhook), or pass --webhook-config-name with a name from \`kubectl get mutatingwebhookconfigurations\``,
    ]);
  });

  it("reports a forbidden read with the permission the kubeconfig's user lacks", async () => {
    const error = new KubeApiError(`get mutatingwebhookconfiguration ${name}: HTTP 403 (forbidden)`, 403);
    assert.deepEqual((await run(error)).lines, [
      `FAIL cannot read MutatingWebhookConfiguration ${name}: get mutatingwebhookconfiguration ${name}: HTTP 403 (forbidden) — fix: use a kubeconfig whose user may get mutatingwebhookconfigurations (kubectl auth can-i get mutatingwebhookconfigurations)`,
    ]);
  });

  it("reports an unreachable API server", async () => {
    const error = new KubeApiError(
      `get mutatingwebhookconfiguration ${name}: connect ECONNREFUSED`,
      undefined,
    );
    assert.deepEqual((await run(error)).lines, [
      `FAIL cannot read MutatingWebhookConfiguration ${name}: get mutatingwebhookconfiguration ${name}: connect ECONNREFUSED — fix: check that the kubeconfig's API server is reachable from here (kubectl version), or pass --kubeconfig`,
    ]);
  });

  it("fails when no webhook has a rule for pods CREATE (subresources and UPDATE do not count)", async () => {
    const { lines, podWebhook: found } = await run(
      configurationWith(
        podWebhook(ca.cert, {
          rules: [
            { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods/exec"] },
            { operations: ["UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] },
          ],
        }),
      ),
    );
    assert.deepEqual(lines.slice(1), [
      `FAIL MutatingWebhookConfiguration ${name} has no webhook with a rule for pods CREATE — fix: add the rule {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]} to its webhook (the chart's template has it)`,
    ]);
    assert.equal(found, undefined);
  });

  it("fails sideEffects other than None", async () => {
    const { lines } = await run(configurationWith(podWebhook(ca.cert, { sideEffects: "Some" })));
    assert.equal(
      lines[2],
      `FAIL webhook ${webhookName} declares sideEffects "Some", not None — fix: set sideEffects: None; the webhook changes nothing but the pod, and the API server sends dry-run requests only to webhooks without side effects`,
    );
  });

  it("fails a webhook with neither a Service nor a URL", async () => {
    const { lines, podWebhook: found } = await run(
      configurationWith(podWebhook(ca.cert, { clientConfig: { caBundle: caBundleOf(ca.cert) } })),
    );
    assert.deepEqual(lines.slice(3), [
      `FAIL webhook ${webhookName} has neither clientConfig.service nor clientConfig.url — fix: point clientConfig.service at the webhook's Service (the chart does)`,
    ]);
    assert.equal(found, undefined);
  });

  const caBundleFix =
    "self-managed certificates: the webhook writes the caBundle when it starts, read its logs; cert-manager: check the cert-manager.io/inject-ca-from annotation and the cainjector's logs; certificates.mode=secret: set certificates.secret.caBundle to the base64 of ca.crt";
  const broken: [string, string | undefined, RegExp][] = [
    [
      "an empty caBundle",
      undefined,
      exactly(`FAIL webhook ${webhookName} has an empty caBundle — fix: ${caBundleFix}`),
    ],
    [
      "a caBundle without a PEM certificate",
      caBundleOf("not a certificate"),
      exactly(
        `FAIL webhook ${webhookName} caBundle holds no PEM certificate — fix: ${caBundleFix} (base64 -w0 ca.crt)`,
      ),
    ],
    [
      "a caBundle with a broken certificate",
      caBundleOf("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      // The parenthesis holds OpenSSL's words, which vary with its version.
      new RegExp(
        `^FAIL webhook ${escapeRegExp(webhookName)} caBundle holds a certificate that does not parse \\(.+\\) — fix: ${escapeRegExp(caBundleFix)}$`,
      ),
    ],
  ];
  for (const [what, caBundle, expected] of broken) {
    it(`fails ${what} and hands on no webhook`, async () => {
      const { lines, podWebhook: found } = await run(
        configurationWith(podWebhook(ca.cert, { clientConfig: { service, caBundle } })),
      );
      assert.match(lines[3] ?? "", expected);
      assert.equal(found, undefined);
    });
  }

  it("fails a caBundle whose certificates are all outside their validity", async () => {
    const later = new Date("2100-01-01T00:00:00Z");
    const { lines } = await run(configurationWith(podWebhook(ca.cert)), later);
    assert.equal(
      lines[3],
      `FAIL webhook ${webhookName} caBundle holds 1 certificate, none valid at 2100-01-01T00:00:00.000Z — fix: renew the CA (or correct this machine's clock); ${caBundleFix}`,
    );
  });
});
