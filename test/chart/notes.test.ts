// NOTES.txt, what `helm install` prints: which pods never reach the webhook, and the warnings about kube-system.

import assert from "node:assert/strict";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chartDir, parseManifests, runHelm } from "./render.js";

// `helm template` skips NOTES.txt and `helm install --dry-run` needs a cluster, so a copy of the chart
// renders it through helm's own engine as a ConfigMap's value (tpl, with the same values and helpers).
const notesTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}
`;

describe("the install notes", () => {
  let dir: string;
  let chart: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wiw-notes-"));
    chart = join(dir, "web-identity-webhook");
    await cp(chartDir, chart, { recursive: true });
    await cp(join(chartDir, "templates", "NOTES.txt"), join(chart, "notes-under-test.txt"));
    await writeFile(join(chart, "templates", "notes-under-test.yaml"), notesTemplate);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function notes(namespace: string, values: Record<string, unknown> = {}): Promise<string> {
    const valuesFile = join(dir, "values.json");
    await writeFile(valuesFile, JSON.stringify(values));
    const args = ["template", "wiw", chart, "--namespace", namespace, "--values", valuesFile];
    const { stdout } = await runHelm([...args, "--show-only", "templates/notes-under-test.yaml"]);
    const [configMap] = parseManifests(stdout) as { data?: { notes?: string } }[];
    assert.equal(typeof configMap?.data?.notes, "string", stdout);
    return configMap?.data?.notes ?? "";
  }

  const noSystemNote = /kube-system is excluded|failurePolicy is Fail for every pod/;

  it("names what never reaches the webhook, and warns of nothing with the defaults", async () => {
    const text = await notes("aws-identity");
    assert.match(
      text,
      /\n\nNever sent to the webhook: its own pods, pods labelled eks\.amazonaws\.com\/skip-pod-identity-webhook \(any value\), and every pod in namespaces aws-identity\.\n*$/,
    );
    assert.doesNotMatch(text, noSystemNote);
  });

  it("says kube-system's pods get no credentials when the release lives there, and how to change it", async () => {
    const text = await notes("kube-system");
    assert.match(text, /NOTE: kube-system is excluded because the release lives there: its pods/);
    assert.match(
      text,
      /Install into a namespace of its own, or set\nwebhook\.namespaceSelector\.excludeReleaseNamespace=false/,
    );
  });

  it("says the same when kube-system is listed in excludeNamespaces", async () => {
    const text = await notes("iam", {
      webhook: { namespaceSelector: { excludeNamespaces: ["kube-system"] } },
    });
    assert.match(
      text,
      /NOTE: kube-system is excluded: its pods .*\n.*Remove it from webhook\.namespaceSelector\.excludeNamespaces/,
    );
  });

  it("warns that failurePolicy Fail for every pod blocks kube-system's pods during an outage", async () => {
    const text = await notes("iam", { webhook: { failurePolicy: "Fail" } });
    assert.match(text, /WARNING: failurePolicy is Fail for every pod, kube-system's included/);
  });

  it("does not warn in opt-in mode, where only labelled pods wait for the webhook", async () => {
    assert.doesNotMatch(await notes("iam", { webhook: { optIn: { enabled: true } } }), noSystemNote);
  });

  it("does not warn when the release in kube-system sends its own namespace", async () => {
    const values = { webhook: { namespaceSelector: { excludeReleaseNamespace: false } } };
    const text = await notes("kube-system", values);
    assert.doesNotMatch(text, noSystemNote);
    assert.match(text, /Never sent to the webhook: its own pods, pods labelled \S+ \(any value\)\.\n*$/);
  });
});
