// Every value is typed in the schema and listed in the chart README, and the README lists no value that does not exist.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { chartDir } from "./render.js";

/** Values that are Kubernetes objects passed through whole: documented and typed as one. */
const opaque = new Set(["podSecurityContext", "securityContext", "resources"]);

function leafPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value) || opaque.has(prefix))
    return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

interface SchemaNode {
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: boolean | SchemaNode;
}

const values: unknown = parse(readFileSync(join(chartDir, "values.yaml"), "utf8"));
const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as SchemaNode;
const readme = readFileSync(join(chartDir, "README.md"), "utf8");
const paths = leafPaths(values);

describe("the values documentation", () => {
  it("types every value in values.schema.json", () => {
    for (const path of paths) {
      let node: SchemaNode | undefined = schema;
      for (const key of path.split(".")) node = node?.properties?.[key];
      assert.ok(node, `${path} is not in values.schema.json`);
    }
  });

  it("closes every object the schema defines to unknown keys", () => {
    const open: string[] = [];
    const visit = (node: SchemaNode, path: string) => {
      if (node.properties === undefined) return;
      if (node.additionalProperties !== false) open.push(path || "(root)");
      for (const [key, child] of Object.entries(node.properties)) visit(child, path ? `${path}.${key}` : key);
    };
    visit(schema, "");
    assert.deepEqual(open, []);
  });

  it("lists every value in the README's table, and only those", () => {
    const section = readme.slice(
      readme.indexOf("\n## Values\n"),
      readme.indexOf("\n## ", readme.indexOf("\n## Values\n") + 1),
    );
    const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual([...documented].sort(), [...paths].sort());
  });
});
