// Building the lines doctor prints: a passed or failed Check (oidc/verify's type), and the fix for a failed API read.

import type { Check } from "../oidc/verify.js";
import { KubeApiError } from "./api.js";

export type { Check };

export function pass(what: string): Check {
  return { ok: true, what };
}

export function fail(what: string, fix: string): Check {
  return { ok: false, what, fix };
}

/** The fix for an API request that failed; `permission` is what the kubeconfig's user needs, e.g. "list serviceaccounts". */
export function apiFailureFix(error: unknown, permission: string): string {
  const status = error instanceof KubeApiError ? error.status : undefined;
  if (status === 401) return "the kubeconfig's credentials were rejected; log in again or pass --kubeconfig";
  if (status === 403) {
    return `use a kubeconfig whose user may ${permission} (kubectl auth can-i ${permission})`;
  }
  if (status === undefined) {
    return "check that the kubeconfig's API server is reachable from here (kubectl version), or pass --kubeconfig";
  }
  return "retry; if it persists, read the API server's logs";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
