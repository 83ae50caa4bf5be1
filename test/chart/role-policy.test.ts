// rolePolicy: rendered into a ConfigMap the webhook's own parser accepts, mounted and passed as --role-policy-file,
// rolling the pods when it changes, and refused by the schema when malformed.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRolePolicy } from "../../src/policy/file.js";
import { isRoleAllowed } from "../../src/policy/role-policy.js";
import type { Container, Deployment } from "./kinds.js";
import { findObject, findObjects, type KubeObject, renderChart } from "./render.js";

interface ConfigMap extends KubeObject {
  readonly data: Readonly<Record<string, string>>;
}

const policy = {
  "team-a": ["arn:aws:iam::111122223333:role/team-a-*"],
  sandbox: [],
  "*": ["arn:aws:iam::111122223333:role/shared-read-only"],
};

function deployment(objects: readonly KubeObject[]) {
  return findObject<Deployment>(objects, "Deployment").spec.template;
}

function webhookContainer(objects: readonly KubeObject[]): Container {
  return deployment(objects).spec.containers[0] as Container;
}

describe("rolePolicy", () => {
  it("renders nothing by default: no ConfigMap, flag, mount or checksum", async () => {
    const objects = await renderChart();
    assert.deepEqual(findObjects(objects, "ConfigMap"), []);
    const container = webhookContainer(objects);
    assert.ok(!container.args.some((arg) => arg.startsWith("--role-policy-file")));
    assert.ok(!container.volumeMounts?.some((mount) => mount.name === "role-policy"));
    assert.equal(deployment(objects).metadata.annotations?.["checksum/role-policy"], undefined);
  });

  it("renders a policy file the webhook reads as written, mounted where --role-policy-file points", async () => {
    const objects = await renderChart({ rolePolicy: policy });
    const configMap = findObject<ConfigMap>(objects, "ConfigMap", "wiw-web-identity-webhook-role-policy");
    assert.equal(configMap.metadata.namespace, "iam");
    const text = configMap.data["role-policy.yaml"] ?? "";
    const parsed = parseRolePolicy(text, "rendered");
    assert.deepEqual(
      Object.fromEntries(
        [...parsed.namespaces].map(([ns, patterns]) => [ns, patterns.map((p) => p.pattern)]),
      ),
      policy,
    );
    assert.equal(isRoleAllowed(parsed, "team-a", "arn:aws:iam::111122223333:role/team-a-x"), true);
    assert.equal(isRoleAllowed(parsed, "sandbox", "arn:aws:iam::111122223333:role/shared-read-only"), false);

    const container = webhookContainer(objects);
    assert.ok(
      container.args.includes("--role-policy-file=/etc/web-identity-webhook/role-policy/role-policy.yaml"),
    );
    assert.deepEqual(
      container.volumeMounts?.find((mount) => mount.name === "role-policy"),
      { name: "role-policy", mountPath: "/etc/web-identity-webhook/role-policy", readOnly: true },
    );
    assert.deepEqual(
      deployment(objects).spec.volumes?.find((volume) => volume.name === "role-policy"),
      { name: "role-policy", configMap: { name: "wiw-web-identity-webhook-role-policy" } },
    );
  });

  it("rolls the pods when the policy changes, and only then", async () => {
    const checksum = async (rolePolicy: object) =>
      deployment(await renderChart({ rolePolicy })).metadata.annotations?.["checksum/role-policy"];
    const first = await checksum(policy);
    assert.match(first ?? "", /^[0-9a-f]{64}$/);
    assert.equal(await checksum(policy), first);
    assert.notEqual(await checksum({ ...policy, sandbox: ["arn:aws:iam::111122223333:role/x"] }), first);
  });

  const refusals: { name: string; rolePolicy: unknown; error: RegExp }[] = [
    {
      name: "a key that is not a namespace name or *",
      rolePolicy: { Team_A: [] },
      error: /rolePolicy: Property name of "Team_A" does not match/,
    },
    {
      name: "a pattern written without a list",
      rolePolicy: { "team-a": "arn:aws:iam::111122223333:role/x" },
      error: /rolePolicy\.team-a: Invalid type\. Expected: array, given: string/,
    },
    {
      name: "a pattern that is not a role ARN",
      rolePolicy: { "team-a": ["team-a-*"] },
      error: /rolePolicy\.team-a\.0: Does not match pattern/,
    },
  ];
  for (const { name, rolePolicy, error } of refusals) {
    it(`is refused by the schema: ${name}`, async () => {
      await assert.rejects(renderChart({ rolePolicy }), error);
    });
  }
});
