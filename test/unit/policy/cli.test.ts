// --role-policy-file on the commands: `mutate` applies it, and both refuse a bad file with exit 2 before doing anything.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { runMutate } from "../../../src/cli/mutate.js";
import { runServe } from "../../../src/cli/serve.js";

type Command = typeof runMutate;

async function run(command: Command, argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await command(argv, { stdout, stderr, env: {} });
  return { code, out, err };
}

describe("--role-policy-file", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wiw-policy-cli-"));
    await writeFile(
      join(dir, "policy.yaml"),
      'namespaces:\n  shop: ["arn:aws:iam::111122223333:role/shop-*"]\n',
    );
    await writeFile(join(dir, "bad.yaml"), "namespaces:\n  shop: arn:aws:iam::111122223333:role/x\n");
    await writeFile(
      join(dir, "pod.yaml"),
      "kind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {serviceAccountName: app, containers: [{name: c}]}\n",
    );
    await writeFile(
      join(dir, "sa.yaml"),
      "kind: ServiceAccount\nmetadata: {name: app, namespace: shop, annotations: {eks.amazonaws.com/role-arn: 'arn:aws:iam::111122223333:role/admin'}}\n",
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("mutate: a role the policy does not allow gets no patch and a warning", async () => {
    const { code, out } = await run(runMutate, [
      `--pod=${join(dir, "pod.yaml")}`,
      `--service-account=${join(dir, "sa.yaml")}`,
      `--role-policy-file=${join(dir, "policy.yaml")}`,
    ]);
    assert.equal(code, 0);
    const result = JSON.parse(out) as { patch: unknown[]; warnings: string[] };
    assert.deepEqual(result.patch, []);
    assert.match(result.warnings[0] ?? "", /is not allowed in namespace "shop" by the webhook's role policy/);
  });

  for (const [name, command] of [
    ["mutate", runMutate],
    ["serve", runServe],
  ] as const) {
    test(`${name}: a bad policy file exits 2 naming the flag, the file and the entry`, async () => {
      const policy = join(dir, "bad.yaml");
      const { code, err } = await run(command, [
        `--role-policy-file=${policy}`,
        ...(name === "mutate" ? [`--pod=${join(dir, "pod.yaml")}`] : ["--service-accounts-file=none.yaml"]),
      ]);
      assert.equal(code, 2);
      assert.equal(
        err,
        `web-identity-webhook ${name}: --role-policy-file ${policy}: namespaces."shop": not a list of role ARN patterns (write [] to allow no role)\n`,
      );
    });
  }
});
