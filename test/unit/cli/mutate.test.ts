// `web-identity-webhook mutate`: prints {"patch", "warnings"} for a manifest, exits 2 with one line on bad input.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import jsonpatch from "fast-json-patch";
import { parse } from "yaml";
import { runMutate } from "../../../src/cli/mutate.js";

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
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
  const code = await runMutate(argv, { stdout, stderr, env });
  return { code, out, err };
}

const pod = "examples/pod.yaml";
const serviceAccount = "examples/serviceaccount.yaml";

describe("mutate", () => {
  test("prints the patch that gives the example pod its role", async () => {
    const { code, out, err } = await run(["--pod", pod, "--service-account", serviceAccount]);
    assert.equal(code, 0);
    assert.equal(err, "");
    assert.equal(out.split("\n").length, 2, "one JSON line");
    const result = JSON.parse(out) as { patch: jsonpatch.Operation[]; warnings: string[] };
    assert.deepEqual(result.warnings, []);
    const patched = jsonpatch.applyPatch(parse(readFileSync(pod, "utf8")), result.patch, true)
      .newDocument as {
      spec: { containers: { env: unknown[] }[] };
    };
    assert.deepEqual(patched.spec.containers[0]?.env, [
      { name: "AWS_ROLE_ARN", value: "arn:aws:iam::111122223333:role/s3-reader" },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ]);
  });

  test("honours engine flags such as --aws-default-region", async () => {
    const { code, out } = await run([
      "--pod",
      pod,
      "--service-account",
      serviceAccount,
      "--aws-default-region",
      "eu-west-1",
    ]);
    assert.equal(code, 0);
    const names = (JSON.parse(out).patch as { value: { name: string }[] }[]).flatMap((op) =>
      Array.isArray(op.value) ? op.value.map((v) => v.name) : [],
    );
    assert.ok(names.includes("AWS_REGION") && names.includes("AWS_DEFAULT_REGION"));
  });

  test("gives an empty patch without a ServiceAccount", async () => {
    const { code, out } = await run(["--pod", pod]);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), { patch: [], warnings: [] });
  });

  test("reads the deprecated spec.serviceAccount as the API server does when serviceAccountName is empty", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-mutate-"));
    const deprecated = join(dir, "pod.yaml");
    const manifest = parse(readFileSync(pod, "utf8")) as { spec: Record<string, unknown> };
    manifest.spec.serviceAccount = manifest.spec.serviceAccountName;
    delete manifest.spec.serviceAccountName;
    await writeFile(deprecated, JSON.stringify(manifest));
    const { code, out, err } = await run(["--pod", deprecated, "--service-account", serviceAccount]);
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as { patch: jsonpatch.Operation[] };
    const patched = jsonpatch.applyPatch(manifest, result.patch, true).newDocument as unknown as {
      spec: { serviceAccountName?: string; containers: { env: { name: string }[] }[] };
    };
    assert.ok(patched.spec.containers[0]?.env.some((variable) => variable.name === "AWS_ROLE_ARN"));
    assert.equal(patched.spec.serviceAccountName, undefined, "the patch does not add serviceAccountName");
  });

  test("warns about a near-miss annotation key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-mutate-"));
    const sa = join(dir, "sa.yaml");
    await writeFile(
      sa,
      "kind: ServiceAccount\nmetadata:\n  name: s3-reader\n  annotations:\n    eks.amazon.com/role-arn: arn:aws:iam::111122223333:role/x\n",
    );
    const { code, out } = await run(["--pod", pod, "--service-account", sa]);
    assert.equal(code, 0);
    const result = JSON.parse(out) as { patch: unknown[]; warnings: string[] };
    assert.deepEqual(result.patch, []);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? "", /eks\.amazon\.com\/role-arn/);
  });

  const bad: [string, string[], RegExp][] = [
    ["no --pod", [], /^web-identity-webhook mutate: --pod is required\n$/],
    [
      "a missing file",
      ["--pod", "nope.yaml"],
      /^web-identity-webhook mutate: cannot read nope\.yaml: ENOENT\n$/,
    ],
    ["a manifest that is not a pod", ["--pod", serviceAccount], /does not hold a Pod \(kind: Pod\)\n$/],
    [
      "a ServiceAccount the pod does not run as",
      ["--pod", pod, "--service-account", "examples/serviceaccounts.yaml"],
      /does not hold a ServiceAccount/,
    ],
    [
      "a bad engine flag",
      ["--pod", pod, "--token-expiration", "soon"],
      /--token-expiration: "soon" is not a whole number/,
    ],
  ];
  for (const [what, argv, message] of bad) {
    test(`exits 2 with one line on stderr for ${what}`, async () => {
      const { code, out, err } = await run(argv);
      assert.equal(code, 2);
      assert.equal(out, "");
      assert.match(err, message);
      assert.equal(err.trimEnd().split("\n").length, 1);
    });
  }
});
