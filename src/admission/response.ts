// Building an AdmissionReview response, in the version the request came in, like controller-runtime's helpers.

import type { AdmissionApiVersion } from "./review.js";

export interface AdmissionStatus {
  /** The HTTP-like code the API server reports, e.g. 400. */
  readonly code: number;
  readonly message: string;
}

export interface AdmissionResponse {
  /** Equal to the request's uid, or the API server rejects the response. */
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: "JSONPatch";
  /** Base64 of the JSON Patch document. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly status?: AdmissionStatus;
}

/**
 * The API server shows warnings to clients as HTTP Warning headers and may truncate any over 256 characters
 * or drop them when there are many; we cap both ourselves so what arrives is what we meant.
 */
export const warningLimits = { maxLength: 256, maxCount: 16 } as const;

// Control characters (newlines included) cannot travel in an HTTP header.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const controlCharacters = /[\u0000-\u001f\u007f]+/g;
const ellipsis = "...";

/** Warnings the API server passes on unchanged: single-line, at most 256 characters, at most 16 of them. */
export function boundedWarnings(warnings: readonly string[]): readonly string[] {
  let bounded: string[] | undefined;
  const count = Math.min(warnings.length, warningLimits.maxCount);
  for (let index = 0; index < count; index++) {
    const warning = warnings[index] ?? "";
    let text = warning.replace(controlCharacters, " ");
    if (text.length > warningLimits.maxLength) {
      text = `${text.slice(0, warningLimits.maxLength - ellipsis.length)}${ellipsis}`;
    }
    if (text !== warning && bounded === undefined) bounded = warnings.slice(0, index);
    bounded?.push(text);
  }
  if (bounded === undefined) return warnings.length > count ? warnings.slice(0, count) : warnings;
  return bounded;
}

function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  return warnings.length === 0 ? response : { ...response, warnings: boundedWarnings(warnings) };
}

/** Admits the object unchanged. */
export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: true }, warnings);
}

/** Admits the object with a JSON Patch (RFC 6902); an empty patch admits it unchanged. */
export function patched(
  uid: string,
  patch: readonly unknown[],
  warnings: readonly string[] = [],
): AdmissionResponse {
  if (patch.length === 0) return allowed(uid, warnings);
  const encoded = Buffer.from(JSON.stringify(patch)).toString("base64");
  return withWarnings({ uid, allowed: true, patchType: "JSONPatch", patch: encoded }, warnings);
}

/** Refuses the object because the request could not be handled; `code` is the HTTP-like status shown to the user. */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, message } };
}

/**
 * The AdmissionReview that carries `response`, in the request's apiVersion, as JSON text: the same bytes
 * JSON.stringify gives for the object, built by hand because this runs once per review. The base64 patch
 * needs no escaping; only the uid, warnings and status go through JSON.stringify.
 */
export function reviewResponseJson(apiVersion: AdmissionApiVersion, response: AdmissionResponse): string {
  let json = `{"apiVersion":"${apiVersion}","kind":"AdmissionReview","response":{"uid":${JSON.stringify(response.uid)},"allowed":${response.allowed}`;
  if (response.patchType !== undefined) json += `,"patchType":"${response.patchType}"`;
  if (response.patch !== undefined) json += `,"patch":"${response.patch}"`;
  if (response.warnings !== undefined) json += `,"warnings":${JSON.stringify(response.warnings)}`;
  if (response.status !== undefined) json += `,"status":${JSON.stringify(response.status)}`;
  return `${json}}}`;
}
