// Least-privilege RBAC: exactly the rules each certificate mode needs, bound to the webhook's ServiceAccount.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Deployment, PolicyRule, Role, RoleBinding } from "./kinds.js";
import { findObject, findObjects, type KubeObject, renderChart } from "./render.js";

const readServiceAccounts: PolicyRule = {
  apiGroups: [""],
  resources: ["serviceaccounts"],
  verbs: ["get", "list", "watch"],
};

function rulesByRole(objects: readonly KubeObject[]): Record<string, readonly PolicyRule[]> {
  const roles = [...findObjects<Role>(objects, "ClusterRole"), ...findObjects<Role>(objects, "Role")];
  return Object.fromEntries(roles.map((r) => [`${r.kind}/${r.metadata.name}`, r.rules]));
}

describe("RBAC", () => {
  it("in self-managed mode: ServiceAccounts cluster-wide, its own Secret, and its own webhook configuration", async () => {
    const objects = await renderChart();
    assert.deepEqual(rulesByRole(objects), {
      "ClusterRole/wiw-web-identity-webhook": [readServiceAccounts],
      "ClusterRole/wiw-web-identity-webhook-webhook-config": [
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["mutatingwebhookconfigurations"],
          resourceNames: ["wiw-web-identity-webhook"],
          verbs: ["get", "list", "watch", "update", "patch"],
        },
      ],
      "Role/wiw-web-identity-webhook-certs": [
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: ["wiw-web-identity-webhook-tls"],
          verbs: ["get", "update", "patch"],
        },
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      ],
    });
    assert.equal(findObject<Role>(objects, "Role").metadata.namespace, "iam");
  });

  it("names the Secret and webhook configuration that the webhook's flags name", async () => {
    const objects = await renderChart({ certificates: { selfManaged: { secretName: "irsa-certs" } } });
    const args = findObject<Deployment>(objects, "Deployment").spec.template.spec.containers[0]?.args ?? [];
    const roles = rulesByRole(objects);
    assert.deepEqual(roles["Role/wiw-web-identity-webhook-certs"]?.[0]?.resourceNames, ["irsa-certs"]);
    assert.ok(args.includes("--cert-secret-name=irsa-certs"));
    assert.deepEqual(roles["ClusterRole/wiw-web-identity-webhook-webhook-config"]?.[0]?.resourceNames, [
      "wiw-web-identity-webhook",
    ]);
    assert.ok(args.includes("--webhook-config-name=wiw-web-identity-webhook"));
  });

  for (const values of [
    { certificates: { mode: "cert-manager" } },
    { certificates: { mode: "secret", secret: { name: "tls", caBundle: "Q0E=" } } },
  ]) {
    it(`in ${values.certificates.mode} mode: only reads ServiceAccounts`, async () => {
      assert.deepEqual(rulesByRole(await renderChart(values)), {
        "ClusterRole/wiw-web-identity-webhook": [readServiceAccounts],
      });
    });
  }

  it("binds every role to the webhook's ServiceAccount", async () => {
    const objects = await renderChart();
    const bindings = [
      ...findObjects<RoleBinding>(objects, "ClusterRoleBinding"),
      ...findObjects<RoleBinding>(objects, "RoleBinding"),
    ];
    assert.deepEqual(bindings.map((b) => [b.kind, b.roleRef.kind, b.roleRef.name]).sort(), [
      ["ClusterRoleBinding", "ClusterRole", "wiw-web-identity-webhook"],
      ["ClusterRoleBinding", "ClusterRole", "wiw-web-identity-webhook-webhook-config"],
      ["RoleBinding", "Role", "wiw-web-identity-webhook-certs"],
    ]);
    for (const binding of bindings) {
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: "wiw-web-identity-webhook", namespace: "iam" },
      ]);
    }
    assert.equal(findObject(objects, "ServiceAccount").metadata.name, "wiw-web-identity-webhook");
    assert.equal(
      findObject<Deployment>(objects, "Deployment").spec.template.spec.serviceAccountName,
      "wiw-web-identity-webhook",
    );
  });

  it("creates no RBAC or ServiceAccount when told not to", async () => {
    const objects = await renderChart({
      rbac: { create: false },
      serviceAccount: { create: false, name: "irsa-webhook" },
    });
    for (const kind of ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"]) {
      assert.deepEqual(findObjects(objects, kind), [], kind);
    }
    assert.equal(
      findObject<Deployment>(objects, "Deployment").spec.template.spec.serviceAccountName,
      "irsa-webhook",
    );
  });
});
