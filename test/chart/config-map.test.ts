// config.watchConfigMap: the reference's ConfigMap, read with exactly the permissions the code declares.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configMapPermissions } from "../../src/serviceaccounts/config-map-watch.js";
import type { Deployment, Role, RoleBinding } from "./kinds.js";
import { findObject, findObjects, renderChart } from "./render.js";

const fullname = "wiw-web-identity-webhook";

function webhookArgs(objects: Awaited<ReturnType<typeof renderChart>>): readonly string[] {
  const deployment = findObject<Deployment>(objects, "Deployment", fullname);
  return deployment.spec.template.spec.containers[0]?.args ?? [];
}

describe("config.watchConfigMap", () => {
  it("is off by default: no flag and no ConfigMap permission", async () => {
    const objects = await renderChart();
    assert.equal(
      webhookArgs(objects).some(
        (arg) => arg.startsWith("--watch-config-map") || arg.startsWith("--namespace"),
      ),
      false,
    );
    assert.deepEqual(
      findObjects<Role>(objects, "Role").flatMap((role) =>
        role.rules.filter((r) => r.resources.includes("configmaps")),
      ),
      [],
    );
  });

  for (const [name, values, namespace] of [
    ["in the release namespace by default", { config: { watchConfigMap: true } }, "iam"],
    [
      "in config.configMapNamespace when set",
      { config: { watchConfigMap: true, configMapNamespace: "kube-system" } },
      "kube-system",
    ],
  ] as const) {
    it(`watches the ConfigMap ${name}, with a Role for that one ConfigMap only`, async () => {
      const objects = await renderChart(values);
      const args = webhookArgs(objects);
      assert.ok(args.includes("--watch-config-map=true"), args.join(" "));
      assert.ok(args.includes(`--namespace=${namespace}`), args.join(" "));

      const role = findObject<Role>(objects, "Role", `${fullname}-config-map`);
      assert.equal(role.metadata.namespace, namespace);
      assert.deepEqual(
        role.rules,
        configMapPermissions(namespace).map((permission) => ({
          apiGroups: [permission.apiGroup],
          resources: [permission.resource],
          resourceNames: [...permission.resourceNames],
          verbs: [...permission.verbs],
        })),
      );
      const binding = findObject<RoleBinding>(objects, "RoleBinding", `${fullname}-config-map`);
      assert.equal(binding.metadata.namespace, namespace);
      assert.deepEqual(binding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: role.metadata.name,
      });
      assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: fullname, namespace: "iam" }]);
    });
  }

  it("refuses a namespace that is not a DNS label", async () => {
    await assert.rejects(
      renderChart({ config: { watchConfigMap: true, configMapNamespace: "Not_A_Namespace" } }),
      /configMapNamespace/,
    );
  });
});
