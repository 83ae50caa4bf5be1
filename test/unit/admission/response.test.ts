import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  allowed,
  boundedWarnings,
  errored,
  patched,
  reviewResponseJson,
  warningLimits,
} from "../../../src/admission/response.js";

const uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
const operations = [{ op: "add", path: "/spec/volumes", value: [{ name: "aws-iam-token" }] }];

describe("admission responses", () => {
  test("allowed admits unchanged, with the request's uid and no warnings field when there are none", () => {
    assert.deepEqual(allowed(uid), { uid, allowed: true });
  });

  test("allowed carries warnings", () => {
    assert.deepEqual(allowed(uid, ["check the role"]), { uid, allowed: true, warnings: ["check the role"] });
  });

  test("patched encodes the JSON Patch as base64 with patchType JSONPatch", () => {
    const response = patched(uid, operations, ["w"]);
    assert.deepEqual(response, {
      uid,
      allowed: true,
      patchType: "JSONPatch",
      patch: Buffer.from(JSON.stringify(operations)).toString("base64"),
      warnings: ["w"],
    });
    assert.deepEqual(JSON.parse(Buffer.from(response.patch ?? "", "base64").toString()), operations);
  });

  test("patched with an empty patch omits patch and patchType", () => {
    assert.deepEqual(patched(uid, []), { uid, allowed: true });
  });

  test("errored refuses with a status code and message", () => {
    assert.deepEqual(errored(uid, 400, "request.object is not a Pod object"), {
      uid,
      allowed: false,
      status: { code: 400, message: "request.object is not a Pod object" },
    });
  });

  test("reviewResponseJson answers in the version asked", () => {
    for (const apiVersion of ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const) {
      assert.deepEqual(JSON.parse(reviewResponseJson(apiVersion, allowed(uid))), {
        apiVersion,
        kind: "AdmissionReview",
        response: { uid, allowed: true },
      });
    }
  });

  const responses = [
    ["allowed", allowed(uid)],
    ["allowed with warnings", allowed(uid, ['say "why"', "tab\there"])],
    ["patched with warnings", patched(uid, operations, ["w"])],
    ["errored", errored(uid, 400, 'request.object "x" is not a Pod object')],
    ["a uid that needs escaping", allowed('a"b\\c')],
  ] as const;
  for (const [name, response] of responses) {
    test(`reviewResponseJson writes the same bytes as JSON.stringify: ${name}`, () => {
      const expected = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
      assert.equal(reviewResponseJson("admission.k8s.io/v1", response), JSON.stringify(expected));
    });
  }
});

describe("boundedWarnings", () => {
  test("returns short single-line warnings as they are (the same array)", () => {
    const warnings = ["one", "two"];
    assert.equal(boundedWarnings(warnings), warnings);
  });

  test("turns newlines and other control characters into spaces", () => {
    assert.deepEqual(boundedWarnings(["ok", "line one\nline two\t\u0000end"]), [
      "ok",
      "line one line two end",
    ]);
  });

  test("cuts a warning over 256 characters to 256, ending with ...", () => {
    const [warning] = boundedWarnings(["a".repeat(300)]);
    assert.equal(warning, `${"a".repeat(warningLimits.maxLength - 3)}...`);
    assert.equal(warning?.length, 256);
  });

  test("keeps the first 16 warnings", () => {
    const warnings = Array.from({ length: 20 }, (_, index) => `warning ${index}`);
    assert.deepEqual(boundedWarnings(warnings), warnings.slice(0, 16));
  });
});
