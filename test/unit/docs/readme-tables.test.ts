// README.md's flags table, metrics table and role policy example agree with the code they describe.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { certificateFlags } from "../../../src/certs/flags.js";
import { serveUsage } from "../../../src/cli/serve.js";
import { type FlagKind, type FlagSpec, serveFlags } from "../../../src/config/flags.js";
import { referenceFlags } from "../../../src/config/reference-flags.js";
import { readRolePolicyFile } from "../../../src/policy/file.js";
import { isRoleAllowed } from "../../../src/policy/role-policy.js";
import { createMetrics } from "../../../src/server/metrics.js";
import { codeBlocks, markdownTable, readmeSection, readReadme, type TableRow } from "./readme.js";

/** Sorted, so that a failure's diff lines up the README's and the code's entries. */
function byName<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));
}

function duplicates(names: readonly string[]): string[] {
  return names.filter((name, index) => names.indexOf(name) !== index);
}

/** A backticked cell's text; a bare cell as written. */
function unquoted(cell: string): string {
  return /^`([^`]*)`$/.exec(cell)?.[1] ?? cell;
}

/** A default as the table and the code can both be compared in: `unset`, numbers and booleans in one spelling. */
function normalisedDefault(kind: FlagKind, value: string | undefined): string {
  if (value === undefined || value === "unset") return "unset";
  if (kind === "bool") return value.toLowerCase();
  if (kind === "int" && value.trim() !== "" && Number.isFinite(Number(value))) return String(Number(value));
  return value;
}

/** The flags `serve` accepts, checked against its --help (which is rendered from the list serve parses with). */
function flagsServeAccepts(): readonly FlagSpec[] {
  const specs = [...serveFlags, ...certificateFlags];
  const inHelp = [...serveUsage.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((match) => match[1]);
  assert.deepEqual(
    inHelp,
    specs.map((spec) => spec.name),
    "serve --help lists other flags than serveFlags + certificateFlags: make this test read serve's flag groups",
  );
  return specs;
}

/** name → default as written, from rows like "| `--tls-cert`, `--tls-key` | `certs/tls.crt`, `certs/tls.key` | ...". */
function documentedFlags(rows: readonly TableRow[]): Array<[string, string]> {
  return rows.flatMap(({ cells, text }): Array<[string, string]> => {
    const names = (cells[0] ?? "").split(",").map((cell) => {
      const name = /^`--([a-z0-9-]+)`$/.exec(cell.trim())?.[1];
      if (name === undefined)
        throw new Error(`flags table: ${JSON.stringify(cell)} is not a \`--flag\`: ${text}`);
      return name;
    });
    const defaults = (cells[1] ?? "").split(",").map((cell) => unquoted(cell.trim()));
    if (defaults.length !== 1 && defaults.length !== names.length) {
      throw new Error(`flags table: ${names.length} flags but ${defaults.length} defaults: ${text}`);
    }
    return names.map((name, index) => [name, defaults[defaults.length === 1 ? 0 : index] ?? ""]);
  });
}

interface MetricShape {
  readonly type: string;
  readonly labels: readonly string[];
}

/** name → type and label names, from rows like "| `..._total` | counter | `outcome` (mutated, ...), `reason` |". */
function documentedMetrics(rows: readonly TableRow[]): Array<[string, MetricShape]> {
  return rows.map(({ cells, text }) => {
    const name = /^`([a-zA-Z_:][a-zA-Z0-9_:]*)`$/.exec(cells[0] ?? "")?.[1];
    if (name === undefined)
      throw new Error(`metrics table: the first cell is not a \`metric_name\`: ${text}`);
    // Label values are documented in parentheses after their label.
    const labels = (cells[2] ?? "")
      .replace(/\([^)]*\)/g, "")
      .split(",")
      .map((cell) => cell.trim())
      .filter((cell) => cell !== "")
      .map((cell) => {
        const label = /^`([a-zA-Z_][a-zA-Z0-9_]*)`$/.exec(cell)?.[1];
        if (label === undefined)
          throw new Error(`metrics table: ${JSON.stringify(cell)} is not a \`label\`: ${text}`);
        return label;
      });
    return [name, { type: cells[1] ?? "", labels: labels.sort() }];
  });
}

/** Metrics that prom-client's default collectors add and the README mentions as a family, not row by row. */
const standardPrefixes = ["process_", "nodejs_"];

describe("README.md", () => {
  test("the flags table lists exactly the flags serve accepts, each with the code's default", async () => {
    const rows = markdownTable(readmeSection(await readReadme(), "## Commands and flags"), [
      "flag",
      "default",
      "meaning",
    ]);
    const documented = documentedFlags(rows);
    assert.deepEqual(duplicates(documented.map(([name]) => name)), [], "flags listed twice in the README");

    const specs = new Map(flagsServeAccepts().map((spec) => [spec.name, spec]));
    assert.deepEqual(
      documented.map(([name]) => name).sort(),
      [...specs.keys()].sort(),
      "the README's flags (actual) differ from serve's (expected)",
    );
    assert.deepEqual(
      byName(
        documented.map(([name, value]) => [
          name,
          normalisedDefault(specs.get(name)?.kind ?? "string", value),
        ]),
      ),
      byName([...specs.values()].map((spec) => [spec.name, normalisedDefault(spec.kind, spec.default)])),
      "the README's defaults (actual) differ from the code's (expected)",
    );
  });

  test("the metrics table lists exactly the metrics the webhook registers, with their types and labels", async () => {
    const section = readmeSection(await readReadme(), "### Metrics");
    const documented = documentedMetrics(markdownTable(section, ["metric", "type", "labels"]));
    assert.deepEqual(duplicates(documented.map(([name]) => name)), [], "metrics listed twice in the README");

    // The registry `serve` builds and /metrics serves, default collectors included.
    const registered = createMetrics()
      .registry.getMetricsAsArray()
      .map((metric): [string, MetricShape] => {
        const { labelNames } = metric as { labelNames?: readonly string[] };
        return [metric.name, { type: String(metric.type), labels: [...(labelNames ?? [])].sort() }];
      });
    const isStandard = (name: string) => standardPrefixes.some((prefix) => name.startsWith(prefix));
    for (const prefix of standardPrefixes) {
      assert.ok(
        registered.some(([name]) => name.startsWith(prefix)),
        `no ${prefix}* metric is registered, yet the README says they are served`,
      );
      assert.ok(
        section.some((line) => line.includes(`\`${prefix}*\``)),
        `the README does not mention the \`${prefix}*\` metrics the webhook serves`,
      );
    }
    assert.deepEqual(
      byName(documented),
      byName(registered.filter(([name]) => !isStandard(name))),
      "the README's metrics (actual) differ from the registered ones (expected)",
    );
  });

  test("the role policy example starts the webhook and behaves as the README says", async () => {
    const examples = codeBlocks(readmeSection(await readReadme(), "### Role policy"), "yaml");
    assert.equal(examples.length, 1, "the Role policy section should hold one YAML example");
    const dir = await mkdtemp(join(tmpdir(), "wiw-readme-policy-"));
    try {
      const file = join(dir, "role-policy.yaml");
      await writeFile(file, examples[0] ?? "");
      // What serve does with --role-policy-file: a bad file throws and stops the process.
      const policy = await readRolePolicyFile(file);
      const account = "arn:aws:iam::111122223333:role";
      const cases: Array<[namespace: string, roleArn: string, allowed: boolean, why: string]> = [
        ["team-a", `${account}/team-a-web`, true, "`*` matches a run of characters"],
        ["team-a", `${account}/team-a-batch/nightly`, true, "`*` matches any run, `/` included"],
        ["team-a", `${account}/team-b-web`, false, "outside the namespace's pattern"],
        ["team-a", "arn:aws:iam::444455556666:role/team-a-web", false, "another account"],
        ["team-a", `${account}/shared-read-only`, false, "a namespace with its own entry uses only that"],
        ["ci", `${account}/ci-runner-1`, true, "`?` matches one character"],
        ["ci", `${account}/ci-runner-12`, false, "`?` matches one character, not two"],
        ["ci", `${account}/ci-runner-`, false, "`?` matches one character, not none"],
        ["sandbox", `${account}/shared-read-only`, false, "`[]`: no role at all"],
        ["default", `${account}/shared-read-only`, true, '"*": every namespace without its own entry'],
        ["default", `${account}/team-a-web`, false, '"*" entry only'],
      ];
      for (const [namespace, roleArn, allowed, why] of cases) {
        assert.equal(isRoleAllowed(policy, namespace, roleArn), allowed, `${namespace} ${roleArn}: ${why}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the reference flags table has one row per reference flag, in order, with its default and handling", async () => {
    const rows = markdownTable(readmeSection(await readReadme(), "### The reference webhook's flags"), [
      "reference flag",
      "reference default",
      "here",
      "meaning",
    ]);
    assert.deepEqual(
      rows.map(({ cells }) => [unquoted(cells[0] ?? ""), unquoted(cells[1] ?? ""), cells[2]]),
      referenceFlags.map((flag) => [
        `--${flag.name}`,
        flag.referenceDefault === undefined || flag.referenceDefault === "" ? "unset" : flag.referenceDefault,
        flag.handling,
      ]),
    );
  });
});
