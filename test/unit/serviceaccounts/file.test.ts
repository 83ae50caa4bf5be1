import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ServiceAccountFile } from "../../../src/serviceaccounts/file.js";

const fixtures = fileURLToPath(new URL("../../fixtures/serviceaccounts/", import.meta.url));
const keepAnnotation = (key: string) => key.startsWith("eks.amazonaws.com/");

async function load(fixture: string): Promise<ServiceAccountFile> {
  const source = new ServiceAccountFile(`${fixtures}${fixture}`, keepAnnotation);
  await source.start();
  return source;
}

describe("ServiceAccountFile", () => {
  it("reads a YAML list, keeps only relevant annotations and puts a ServiceAccount without namespace in default", async () => {
    const source = await load("list.yaml");
    assert.equal(source.isReady(), true);
    assert.equal(source.size(), 2);
    assert.deepEqual(await source.get("payments", "s3-reader"), {
      namespace: "payments",
      name: "s3-reader",
      annotations: {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/s3-reader",
        "eks.amazonaws.com/token-expiration": "3600",
      },
    });
    assert.deepEqual(await source.get("default", "default"), {
      namespace: "default",
      name: "default",
      annotations: {},
    });
  });

  it("reads a kind: List as kubectl prints it", async () => {
    const source = await load("kind-list.yaml");
    assert.equal(source.size(), 2);
    assert.deepEqual((await source.get("ci", "builder"))?.annotations, {
      "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/builder",
    });
    assert.deepEqual((await source.get("ci", "default"))?.annotations, {});
  });

  it("reads several YAML documents, skipping empty ones", async () => {
    const source = await load("documents.yaml");
    assert.equal(source.size(), 2);
    assert.equal((await source.get("shop", "web"))?.name, "web");
    assert.equal((await source.get("shop", "worker"))?.name, "worker");
  });

  it("answers undefined for a ServiceAccount the file does not hold", async () => {
    const source = await load("list.yaml");
    assert.equal(await source.get("payments", "default"), undefined);
  });

  it("reads examples/serviceaccounts.yaml, which `npm start` serves", async () => {
    const examples = fileURLToPath(new URL("../../../examples/serviceaccounts.yaml", import.meta.url));
    const source = new ServiceAccountFile(examples, keepAnnotation);
    await source.start();
    assert.equal(
      (await source.get("default", "s3-reader"))?.annotations["eks.amazonaws.com/role-arn"],
      "arn:aws:iam::111122223333:role/s3-reader",
    );
  });

  it("is not ready before start", () => {
    assert.equal(new ServiceAccountFile(`${fixtures}list.yaml`, keepAnnotation).isReady(), false);
  });

  const rejected: readonly { fixture: string; message: string }[] = [
    {
      fixture: "unquoted-annotation.yaml",
      message:
        'items[1]: metadata.annotations["eks.amazonaws.com/token-expiration"] is 3600, not a string: quote it ("3600")',
    },
    {
      fixture: "missing-name.yaml",
      message: "document 2 items[0]: metadata.name is missing, expected a name",
    },
    { fixture: "wrong-kind.yaml", message: 'items[1]: kind is "Pod", expected "ServiceAccount"' },
    {
      fixture: "duplicate.yaml",
      message: "items[2]: ServiceAccount default/app is defined twice (first at items[0])",
    },
    {
      fixture: "invalid-yaml.yaml",
      message:
        "not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 4, column 1",
    },
    { fixture: "list-without-items.yaml", message: "a List without an items list" },
    { fixture: "absent.yaml", message: "cannot read it (ENOENT)" },
  ];
  for (const { fixture, message } of rejected) {
    it(`rejects ${fixture}, naming the file and what is wrong`, async () => {
      const source = new ServiceAccountFile(`${fixtures}${fixture}`, keepAnnotation);
      await assert.rejects(source.start(), {
        name: "ServiceAccountFileError",
        message: `--service-accounts-file ${fixtures}${fixture}: ${message}`,
      });
      assert.equal(source.isReady(), false);
    });
  }
});
