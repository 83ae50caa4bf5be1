// Least-privilege RBAC: exactly the rules each certificate mode needs, bound to the webhook's ServiceAccount.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requiredPermissions as certificatePermissions } from "../../src/certs/kube-store.js";
import { requiredPermissions as eventPermissions } from "../../src/events/kube-api.js";
import { requiredPermissions as serviceAccountPermissions } from "../../src/serviceaccounts/kube-api.js";
import type { Deployment, PolicyRule, Role, RoleBinding } from "./kinds.js";
import { findObject, findObjects, type KubeObject, renderChart } from "./render.js";

const readServiceAccounts: PolicyRule = {
  apiGroups: [""],
  resources: ["serviceaccounts"],
  verbs: ["get", "list", "watch"],
};

const recordEvents: PolicyRule = {
  apiGroups: ["events.k8s.io"],
  resources: ["events"],
  verbs: ["create", "patch"],
};

function rulesByRole(objects: readonly KubeObject[]): Record<string, readonly PolicyRule[]> {
  const roles = [...findObjects<Role>(objects, "ClusterRole"), ...findObjects<Role>(objects, "Role")];
  return Object.fromEntries(roles.map((r) => [`${r.kind}/${r.metadata.name}`, r.rules]));
}

interface Permission {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  readonly scope: "cluster" | "namespace";
  readonly ownObjectOnly: boolean;
}

/** A rule as `scope apiGroup/resource [own] verbs`, verbs sorted, so chart rules and code tables compare. */
function ruleKey(scope: string, rule: PolicyRule): string[] {
  return rule.resources.flatMap((resource) =>
    rule.apiGroups.map(
      (group) =>
        `${scope} ${group}/${resource}${rule.resourceNames ? " own" : ""} ${[...rule.verbs].sort().join(",")}`,
    ),
  );
}

function permissionKey(permission: Permission): string {
  return `${permission.scope} ${permission.apiGroup}/${permission.resource}${permission.ownObjectOnly ? " own" : ""} ${[...permission.verbs].sort().join(",")}`;
}

describe("RBAC", () => {
  it("grants in self-managed mode exactly the requests the code declares it makes, no more", async () => {
    const objects = await renderChart();
    const granted = [
      ...findObjects<Role>(objects, "ClusterRole").flatMap((role) =>
        role.rules.flatMap((rule) => ruleKey("cluster", rule)),
      ),
      ...findObjects<Role>(objects, "Role").flatMap((role) =>
        role.rules.flatMap((rule) => ruleKey("namespace", rule)),
      ),
    ];
    const required = [...serviceAccountPermissions, ...eventPermissions, ...certificatePermissions].map(
      permissionKey,
    );
    assert.deepEqual(granted.sort(), required.sort());
  });

  it("grants in the other modes exactly what the ServiceAccount and Event clients declare", async () => {
    const objects = await renderChart({ certificates: { mode: "cert-manager" } });
    const granted = findObjects<Role>(objects, "ClusterRole").flatMap((role) =>
      role.rules.flatMap((rule) => ruleKey("cluster", rule)),
    );
    assert.deepEqual(granted, [...serviceAccountPermissions, ...eventPermissions].map(permissionKey));
    assert.deepEqual(findObjects(objects, "Role"), []);
  });

  it("in self-managed mode: ServiceAccounts and Events cluster-wide, its own Secret, and its own webhook configuration", async () => {
    const objects = await renderChart();
    assert.deepEqual(rulesByRole(objects), {
      "ClusterRole/wiw-web-identity-webhook": [readServiceAccounts, recordEvents],
      "ClusterRole/wiw-web-identity-webhook-webhook-config": [
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["mutatingwebhookconfigurations"],
          resourceNames: ["wiw-web-identity-webhook"],
          verbs: ["get", "patch", "watch"],
        },
      ],
      "Role/wiw-web-identity-webhook-certs": [
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: ["wiw-web-identity-webhook-tls"],
          verbs: ["get", "patch"],
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
    it(`in ${values.certificates.mode} mode: only reads ServiceAccounts and records Events`, async () => {
      assert.deepEqual(rulesByRole(await renderChart(values)), {
        "ClusterRole/wiw-web-identity-webhook": [readServiceAccounts, recordEvents],
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
