// One version, package.json's: Chart.yaml's version and appVersion, the default image tag, the chart's version
// labels, and what the binary prints for --version, which it reads from package.json rather than a copy.

import assert from "node:assert/strict";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { Deployment, Pod } from "./kinds.js";
import { packageVersion } from "./package-version.js";
import { chartDir, findObject, renderChart, runHelm } from "./render.js";
import { runToEnd } from "./run-to-end.js";

const dist = fileURLToPath(new URL("../../dist", import.meta.url));
const imageRepository = "ghcr.io/web-identity-webhook/web-identity-webhook";

describe("the version", () => {
  it("is a semantic version", () => {
    assert.match(packageVersion, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it("is Chart.yaml's version and appVersion, as helm reads them", async () => {
    const { stdout } = await runHelm(["show", "chart", chartDir]);
    const chart = parse(stdout) as { version: unknown; appVersion: unknown };
    assert.deepEqual(
      { version: chart.version, appVersion: chart.appVersion },
      { version: packageVersion, appVersion: packageVersion },
    );
  });

  it("tags the default image of the webhook and of its helm test pod", async () => {
    const objects = await renderChart();
    const deployment = findObject<Deployment>(objects, "Deployment");
    const testPod = findObject<Pod>(objects, "Pod");
    assert.deepEqual(
      [deployment.spec.template.spec.containers[0]?.image, testPod.spec.containers[0]?.image],
      [`${imageRepository}:${packageVersion}`, `${imageRepository}:${packageVersion}`],
    );
  });

  it("is in the version and chart labels of every object the chart renders", async () => {
    for (const object of await renderChart()) {
      const labels = object.metadata.labels ?? {};
      const where = `${object.kind}/${object.metadata.name}`;
      assert.equal(labels["app.kubernetes.io/version"], packageVersion, where);
      assert.equal(labels["helm.sh/chart"], `web-identity-webhook-${packageVersion}`, where);
    }
  });

  it("is what `web-identity-webhook --version` prints", async () => {
    const finished = await runToEnd(
      process.execPath,
      [join(dist, "cli", "main.js"), "--version"],
      {},
      20_000,
    );
    assert.deepEqual(finished, { ...finished, code: 0, stdout: `web-identity-webhook ${packageVersion}\n` });
  });

  it("is read by --version from the package.json beside the build, not kept in a second place", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-version-"));
    try {
      await cp(dist, join(dir, "dist"), { recursive: true, dereference: true });
      await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", version: "9.8.7-probe" }));
      const finished = await runToEnd(
        process.execPath,
        [join(dir, "dist", "cli", "main.js"), "--version"],
        {},
        20_000,
      );
      assert.equal(finished.stdout, "web-identity-webhook 9.8.7-probe\n", finished.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
