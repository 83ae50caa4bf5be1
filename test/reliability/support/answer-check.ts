// Checks a /mutate answer against its request: a valid AdmissionReview or a clear 4xx, and a patch that only adds.

import assert from "node:assert/strict";
import type { Operation } from "fast-json-patch";
import jsonpatch from "fast-json-patch";

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export interface ReviewAnswer {
  readonly allowed: boolean;
  /** The decoded JSON Patch; undefined when the answer has none. */
  readonly patch: Operation[] | undefined;
  readonly warnings: readonly string[];
}

/** What /mutate may answer with besides 200: a JSON `{error}` with one of these. */
const clientErrors: ReadonlySet<number> = new Set([400, 413, 415]);

/**
 * Asserts the answer is either a 4xx `{error}` (returns undefined) or an AdmissionReview answering this
 * request: same apiVersion and uid, a boolean allowed, bounded single-line warnings, and a JSON Patch (when
 * there is one) made only of "add" operations.
 */
export function checkAnswer(request: unknown, answer: HttpAnswer): ReviewAnswer | undefined {
  if (answer.status !== 200) {
    assert.ok(clientErrors.has(answer.status), `status ${answer.status}: ${answer.text.slice(0, 300)}`);
    const body = JSON.parse(answer.text) as { error?: unknown };
    assert.equal(typeof body.error, "string", answer.text);
    assert.doesNotMatch(answer.text, /\bat .+\.(ts|js):\d+/, "no stack trace in an answer");
    return undefined;
  }
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  const sent = request as { apiVersion: string; request: { uid: string } };
  assert.equal(body.kind, "AdmissionReview");
  assert.equal(body.apiVersion, sent.apiVersion);
  const response = body.response as Record<string, unknown>;
  assert.equal(response.uid, sent.request.uid);
  assert.equal(typeof response.allowed, "boolean");
  const warnings = (response.warnings ?? []) as unknown[];
  assert.ok(Array.isArray(warnings) && warnings.length <= 16);
  for (const warning of warnings) {
    assert.equal(typeof warning, "string");
    assert.ok((warning as string).length <= 256, `warning too long: ${warning}`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: they cannot travel in an HTTP header
    assert.doesNotMatch(warning as string, /[\u0000-\u001f\u007f]/);
  }
  if (response.allowed === false) {
    const status = response.status as { code?: unknown; message?: unknown };
    assert.equal(status.code, 400);
    assert.equal(typeof status.message, "string");
  }
  if (response.patch === undefined) {
    assert.equal(response.patchType, undefined);
    return { allowed: response.allowed as boolean, patch: undefined, warnings: warnings as string[] };
  }
  assert.equal(response.patchType, "JSONPatch");
  assert.equal(response.allowed, true);
  const patch = JSON.parse(Buffer.from(response.patch as string, "base64").toString("utf8")) as Operation[];
  assert.ok(Array.isArray(patch) && patch.length > 0, "a patch is never empty");
  for (const operation of patch) assert.equal(operation.op, "add", JSON.stringify(operation));
  return { allowed: true, patch, warnings: warnings as string[] };
}

/**
 * Applies the patch as the API server does (validating each operation) and proves it only added: undoing
 * each addition, newest first, gives back the original byte for byte. An "add" may only target a member
 * that is absent (or null, which Kubernetes treats as absent) or append to a list with `-`.
 */
export function applyAddOnly(original: unknown, patch: readonly Operation[]): unknown {
  const validated = jsonpatch.applyPatch(
    structuredClone(original),
    structuredClone(patch) as Operation[],
    true,
  );
  const document = structuredClone(original);
  const undo: (() => void)[] = [];
  for (const operation of patch) {
    const segments = pointerSegments(operation.path);
    const last = segments.pop() as string;
    const parent = valueAt(document, segments);
    const value = structuredClone((operation as { value: unknown }).value);
    if (Array.isArray(parent)) {
      assert.equal(last, "-", `${operation.path}: a list is only appended to`);
      parent.push(value);
      undo.push(() => parent.pop());
    } else {
      assert.ok(typeof parent === "object" && parent !== null, `${operation.path}: no parent object`);
      const members = parent as Record<string, unknown>;
      if (Object.hasOwn(members, last)) {
        assert.equal(members[last], null, `${operation.path}: "add" would replace an existing value`);
        undo.push(() => {
          members[last] = null;
        });
      } else {
        undo.push(() => delete members[last]);
      }
      members[last] = value;
    }
  }
  // Compared as JSON text: deepEqual recurses and the generated pods nest values a thousand levels deep.
  const patched = JSON.stringify(document);
  assert.equal(
    patched,
    JSON.stringify(validated.newDocument),
    "fast-json-patch and the step-by-step apply agree",
  );
  for (const step of undo.reverse()) step();
  assert.equal(JSON.stringify(document), JSON.stringify(original), "pre-existing fields are unchanged");
  return JSON.parse(patched);
}

function pointerSegments(pointer: string): string[] {
  assert.ok(pointer.startsWith("/"), `${pointer} is not a JSON Pointer`);
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let value = root;
  for (const segment of segments) {
    assert.ok(typeof value === "object" && value !== null, `no ${segment} to descend into`);
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
