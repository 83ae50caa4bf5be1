// helm lint and helm template over the default values and every ci/*-values.yaml, and the schema's refusals.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { chartDir, HelmError, renderChart, runHelm } from "./render.js";

const ciValuesFiles = readdirSync(join(chartDir, "ci"))
  .filter((file) => file.endsWith("-values.yaml"))
  .sort()
  .map((file) => join(chartDir, "ci", file));

describe("the chart lints and renders", () => {
  it("has ci values files for opt-in, cert-manager, secret and HA/metrics/network policy installs", () => {
    const names = ciValuesFiles.map((file) => file.slice(file.lastIndexOf("/") + 1));
    for (const expected of [
      "opt-in-values.yaml",
      "cert-manager-values.yaml",
      "secret-values.yaml",
      "ha-metrics-networkpolicy-values.yaml",
    ]) {
      assert.ok(names.includes(expected), `ci/${expected} is missing (found ${names.join(", ")})`);
    }
  });

  for (const valuesFile of [undefined, ...ciValuesFiles]) {
    const label = valuesFile === undefined ? "the default values" : valuesFile.slice(chartDir.length + 1);

    it(`passes helm lint --strict with ${label}`, async () => {
      const { stdout } = await runHelm([
        "lint",
        "--strict",
        chartDir,
        ...(valuesFile ? ["--values", valuesFile] : []),
      ]);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    it(`renders named, labelled objects with ${label}`, async () => {
      const objects = await renderChart({}, valuesFile ? { valuesFiles: [valuesFile] } : {});
      assert.ok(objects.length > 0);
      for (const object of objects) {
        assert.ok(
          object.apiVersion && object.kind && object.metadata.name,
          `incomplete object ${JSON.stringify(object)}`,
        );
        assert.equal(
          object.metadata.labels?.["app.kubernetes.io/instance"],
          "wiw",
          `${object.kind} lacks the instance label`,
        );
        assert.equal(object.metadata.labels?.["app.kubernetes.io/managed-by"], "Helm");
      }
    });
  }
});

describe("the values schema", () => {
  const refusals: { name: string; set?: string[]; values?: Record<string, unknown>; error: RegExp }[] = [
    {
      name: "a replicaCount that is not a number",
      set: ["replicaCount=abc"],
      error: /replicaCount: Invalid type\. Expected: integer, given: string/,
    },
    {
      name: "an unknown top-level key",
      values: { replicas: 3 },
      error: /Additional property replicas is not allowed/,
    },
    {
      name: "an unknown key in config",
      values: { config: { tokenAudiences: "x" } },
      error: /config: Additional property tokenAudiences is not allowed/,
    },
    {
      name: "an unknown key in a nested section",
      values: { webhook: { optIn: { label: "x" } } },
      error: /webhook\.optIn: Additional property label is not allowed/,
    },
    {
      name: "an unknown certificate mode",
      values: { certificates: { mode: "vault" } },
      error: /certificates\.mode: certificates\.mode must be one of/,
    },
    {
      name: "a token expiration below 600 s",
      values: { config: { tokenExpiration: 60 } },
      error: /config\.tokenExpiration: Must be greater than or equal to 600/,
    },
    {
      name: "a failurePolicy other than Ignore or Fail",
      values: { webhook: { failurePolicy: "Retry" } },
      error: /webhook\.failurePolicy/,
    },
    {
      name: "a timeout above the API server's 30 s",
      values: { webhook: { timeoutSeconds: 31 } },
      error: /webhook\.timeoutSeconds: Must be less than or equal to 30/,
    },
    {
      name: "a string where a boolean belongs",
      values: { config: { stsRegionalEndpoint: "yes" } },
      error: /config\.stsRegionalEndpoint: Invalid type\. Expected: boolean, given: string/,
    },
    {
      name: "an image digest that is not sha256",
      values: { image: { digest: "latest" } },
      error: /image\.digest: Does not match pattern/,
    },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name}`, async () => {
      await assert.rejects(
        renderChart(refusal.values ?? {}, refusal.set ? { set: refusal.set } : {}),
        (error: unknown) => {
          assert.ok(error instanceof HelmError, String(error));
          assert.match(error.stderr, /values don't meet the specifications of the schema/);
          assert.match(error.stderr, refusal.error);
          return true;
        },
      );
    });
  }

  it("accepts a percentage or a number for podDisruptionBudget.minAvailable", async () => {
    await renderChart({ podDisruptionBudget: { minAvailable: "50%" } });
    await renderChart({ podDisruptionBudget: { minAvailable: 1 } });
  });
});
