// Applies a decision's patch the way the API server does, failing on any invalid operation.

import type { Operation } from "fast-json-patch";
import jsonpatch from "fast-json-patch";
import type { Pod } from "../../../src/mutation/pod.js";

/** The pod after the patch; the input is left untouched. Throws if an operation does not apply. */
export function applyToPod(pod: Pod, patch: readonly Operation[]): Pod {
  return jsonpatch.applyPatch(structuredClone(pod), structuredClone(patch) as Operation[], true).newDocument;
}
