// Runs the whole-pod golden cases in test/fixtures/engine (format in its README.md).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { isRelevantAnnotation } from "../../../src/identity/annotations.js";
import { decide } from "../../../src/mutation/decide.js";
import { defaultEngineOptions, type EngineOptions } from "../../../src/mutation/options.js";
import type { Pod, ServiceAccountRecord } from "../../../src/mutation/pod.js";
import { applyToPod } from "./apply.js";

const fixtureDir = fileURLToPath(new URL("../../fixtures/engine/", import.meta.url));

interface GoldenCase {
  readonly name: string;
  readonly options?: Partial<EngineOptions>;
  readonly serviceAccount?: { readonly name: string; readonly annotations: Record<string, string> };
  readonly pod: Pod;
  readonly expected: { readonly reason: string; readonly warnings: readonly string[]; readonly pod: Pod };
}

/** The record the ServiceAccount cache would hold: only the annotations it keeps. */
function cachedServiceAccount(golden: GoldenCase, options: EngineOptions): ServiceAccountRecord | undefined {
  if (golden.serviceAccount === undefined) return undefined;
  const annotations = Object.fromEntries(
    Object.entries(golden.serviceAccount.annotations).filter(([key]) =>
      isRelevantAnnotation(key, options.annotationPrefix),
    ),
  );
  return {
    namespace: golden.pod.metadata?.namespace ?? "default",
    name: golden.serviceAccount.name,
    annotations,
  };
}

const files = readdirSync(fixtureDir).filter((file) => file.endsWith(".yaml"));

test("finds the golden cases", () => {
  assert.ok(files.length >= 10, `found ${files.length} cases in ${fixtureDir}`);
});

for (const file of files.sort()) {
  const golden = parseYaml(readFileSync(`${fixtureDir}${file}`, "utf8")) as GoldenCase;
  test(`${golden.name} (${file})`, () => {
    const options: EngineOptions = { ...defaultEngineOptions, ...golden.options };
    const serviceAccount = cachedServiceAccount(golden, options);
    const decision = decide(golden.pod, serviceAccount, options);
    assert.deepEqual(
      { reason: decision.reason, warnings: decision.warnings, pod: applyToPod(golden.pod, decision.patch) },
      golden.expected,
    );
    const again = decide(golden.expected.pod, serviceAccount, options);
    assert.deepEqual(again.patch, [], "a second decision on the result must be empty");
    assert.equal(again.reason, decision.reason === "mutated" ? "already-mutated" : decision.reason);
  });
}
