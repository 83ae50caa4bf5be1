// The three certificate modes: what the chart creates, what the webhook is told, and what it refuses.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Certificate, Container, Deployment, Issuer, Pod } from "./kinds.js";
import { packageVersion as version } from "./package-version.js";
import { findObject, findObjects, HelmError, type KubeObject, renderChart } from "./render.js";

function webhookContainer(objects: readonly KubeObject[]): Container {
  return findObject<Deployment>(objects, "Deployment").spec.template.spec.containers[0] as Container;
}

function certArgs(container: Container): string[] {
  return container.args.filter((a) => /^--(cert-|tls-|webhook-config|service-)/.test(a));
}

const servingDnsNames = [
  "wiw-web-identity-webhook",
  "wiw-web-identity-webhook.iam",
  "wiw-web-identity-webhook.iam.svc",
  "wiw-web-identity-webhook.iam.svc.cluster.local",
];

describe("certificates", () => {
  describe("self-managed (the default)", () => {
    it("tells the webhook its Secret, webhook configuration and Service, and mounts no certificate", async () => {
      const objects = await renderChart();
      const container = webhookContainer(objects);
      assert.deepEqual(certArgs(container), [
        "--cert-mode=self-managed",
        "--cert-secret-name=wiw-web-identity-webhook-tls",
        "--cert-secret-namespace=iam",
        "--webhook-config-name=wiw-web-identity-webhook",
        "--service-name=wiw-web-identity-webhook",
        "--service-namespace=iam",
        "--cert-validity-days=365",
        "--cert-renew-before-days=30",
      ]);
      assert.deepEqual(
        container.volumeMounts?.map((m) => m.name),
        ["tmp"],
      );
      assert.deepEqual(findObjects(objects, "Secret"), [], "the webhook creates its Secret itself");
      assert.deepEqual(findObjects(objects, "Certificate"), []);
    });

    it("refuses a renewal window as long as the certificate's life", async () => {
      await assert.rejects(
        renderChart({ certificates: { selfManaged: { validityDays: 30, renewBeforeDays: 30 } } }),
        /certificates\.selfManaged\.renewBeforeDays \(30\) must be less than certificates\.selfManaged\.validityDays \(30\)/,
      );
    });
  });

  describe("cert-manager", () => {
    it("builds a private CA chain: self-signed Issuer → CA Certificate → CA Issuer → serving Certificate", async () => {
      const objects = await renderChart({ certificates: { mode: "cert-manager" } });
      const issuers = findObjects<Issuer>(objects, "Issuer");
      assert.deepEqual(
        issuers.map((i) => [i.metadata.name, i.spec]),
        [
          ["wiw-web-identity-webhook-selfsigned", { selfSigned: {} }],
          ["wiw-web-identity-webhook-ca", { ca: { secretName: "wiw-web-identity-webhook-ca" } }],
        ],
      );
      const ca = findObject<Certificate>(objects, "Certificate", "wiw-web-identity-webhook-ca");
      assert.equal(ca.spec.isCA, true);
      assert.equal(ca.spec.secretName, "wiw-web-identity-webhook-ca");
      assert.deepEqual(ca.spec.issuerRef, {
        name: "wiw-web-identity-webhook-selfsigned",
        kind: "Issuer",
        group: "cert-manager.io",
      });
      const serving = findObject<Certificate>(objects, "Certificate", "wiw-web-identity-webhook-tls");
      assert.equal(serving.spec.secretName, "wiw-web-identity-webhook-tls");
      assert.deepEqual(serving.spec.dnsNames, servingDnsNames);
      assert.deepEqual(serving.spec.issuerRef, {
        name: "wiw-web-identity-webhook-ca",
        kind: "Issuer",
        group: "cert-manager.io",
      });
    });

    it("signs with the named issuer and creates no CA of its own", async () => {
      const objects = await renderChart({
        certificates: {
          mode: "cert-manager",
          certManager: { issuerRef: { name: "corp-ca", kind: "ClusterIssuer" } },
        },
      });
      assert.deepEqual(findObjects(objects, "Issuer"), []);
      const certificates = findObjects<Certificate>(objects, "Certificate");
      assert.deepEqual(
        certificates.map((c) => [c.metadata.name, c.spec.issuerRef]),
        [
          [
            "wiw-web-identity-webhook-tls",
            { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" },
          ],
        ],
      );
    });

    it("serves the Certificate's Secret as files", async () => {
      const objects = await renderChart({ certificates: { mode: "cert-manager" } });
      assertServesFilesFrom(objects, "wiw-web-identity-webhook-tls");
    });
  });

  describe("secret", () => {
    const values = {
      certificates: { mode: "secret", secret: { name: "corp-webhook-tls", caBundle: "Q0E=" } },
    };

    it("serves the named Secret as files and creates no certificate objects", async () => {
      const objects = await renderChart(values);
      assertServesFilesFrom(objects, "corp-webhook-tls");
      assert.deepEqual(findObjects(objects, "Certificate"), []);
    });

    it("rolls the pods when the CA changes", async () => {
      const checksum = async (caBundle: string) =>
        findObject<Deployment>(
          await renderChart({ certificates: { mode: "secret", secret: { name: "tls", caBundle } } }),
          "Deployment",
        ).spec.template.metadata.annotations?.["checksum/ca-bundle"];
      const first = await checksum("Q0E=");
      assert.match(first ?? "", /^[0-9a-f]{64}$/);
      assert.notEqual(await checksum("Q0IK"), first);
    });

    const missing: { name: string; secret: Record<string, string>; error: RegExp }[] = [
      {
        name: "the Secret's name",
        secret: { caBundle: "Q0E=" },
        error: /certificates\.secret\.name is required when certificates\.mode is secret/,
      },
      {
        name: "the CA bundle",
        secret: { name: "tls" },
        error: /certificates\.secret\.caBundle is required when certificates\.mode is secret/,
      },
    ];
    for (const m of missing) {
      it(`fails with a clear message without ${m.name}`, async () => {
        await assert.rejects(
          renderChart({ certificates: { mode: "secret", secret: m.secret } }),
          (error: unknown) => {
            assert.ok(error instanceof HelmError);
            assert.match(error.stderr, m.error);
            return true;
          },
        );
      });
    }
  });

  describe("the helm test pod", () => {
    it("checks the webhook through its Service with the CA from the Secret, never its keys", async () => {
      const pod = findObject<Pod>(await renderChart(), "Pod");
      assert.equal(pod.metadata.annotations?.["helm.sh/hook"], "test");
      const container = pod.spec.containers[0] as Container;
      assert.deepEqual(container.command, ["/nodejs/bin/node", "-e"]);
      assert.match(container.args[0] ?? "", /POST", "\/mutate"/);
      assert.deepEqual(container.env, [
        { name: "WEBHOOK_HOST", value: "wiw-web-identity-webhook.iam.svc" },
        { name: "WEBHOOK_PORT", value: "443" },
        { name: "NAMESPACE", value: "iam" },
        { name: "CA_FILE", value: "/etc/web-identity-webhook/ca/ca.crt" },
      ]);
      assert.deepEqual(pod.spec.volumes, [
        {
          name: "ca",
          secret: {
            secretName: "wiw-web-identity-webhook-tls",
            optional: true,
            items: [{ key: "ca.crt", path: "ca.crt" }],
          },
        },
      ]);
    });

    it("carries the skip label and the release's labels, but not the name label that selects webhook pods", async () => {
      const pod = findObject<Pod>(await renderChart(), "Pod");
      assert.deepEqual(pod.metadata.labels, {
        "helm.sh/chart": `web-identity-webhook-${version}`,
        "app.kubernetes.io/instance": "wiw",
        "app.kubernetes.io/component": "test",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "web-identity-webhook",
        "eks.amazonaws.com/skip-pod-identity-webhook": "true",
      });
    });

    it("stays after it ran, so `helm test --logs` can read its logs, until the next `helm test` replaces it", async () => {
      const pod = findObject<Pod>(await renderChart(), "Pod");
      assert.equal(pod.metadata.annotations?.["helm.sh/hook-delete-policy"], "before-hook-creation");
    });

    it("takes the CA from values in secret mode", async () => {
      const pod = findObject<Pod>(
        await renderChart({ certificates: { mode: "secret", secret: { name: "tls", caBundle: "Q0E=" } } }),
        "Pod",
      );
      assert.deepEqual((pod.spec.containers[0] as Container).env?.at(-1), {
        name: "CA_BUNDLE",
        value: "Q0E=",
      });
      assert.equal(pod.spec.volumes, undefined);
    });
  });
});

function assertServesFilesFrom(objects: readonly KubeObject[], secretName: string): void {
  const deployment = findObject<Deployment>(objects, "Deployment");
  const container = deployment.spec.template.spec.containers[0] as Container;
  assert.deepEqual(certArgs(container), [
    "--cert-mode=file",
    "--tls-cert=/etc/web-identity-webhook/tls/tls.crt",
    "--tls-key=/etc/web-identity-webhook/tls/tls.key",
  ]);
  assert.deepEqual(container.volumeMounts, [
    { name: "tmp", mountPath: "/tmp" },
    { name: "tls", mountPath: "/etc/web-identity-webhook/tls", readOnly: true },
  ]);
  assert.deepEqual(deployment.spec.template.spec.volumes?.at(-1), {
    name: "tls",
    secret: {
      secretName,
      items: [
        { key: "tls.crt", path: "tls.crt" },
        { key: "tls.key", path: "tls.key" },
      ],
    },
  });
}
