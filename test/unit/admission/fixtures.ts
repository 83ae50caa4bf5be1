// Reads the AdmissionReview fixtures of test/fixtures/reviews as parsed JSON or as the raw body text.

import { readFileSync } from "node:fs";

const directory = new URL("../../fixtures/reviews/", import.meta.url);

export type ReviewFixture = "pod-create-v1" | "pod-create-v1beta1" | "pod-update-v1" | "deployment-create-v1";

export function reviewText(name: ReviewFixture): string {
  return readFileSync(new URL(`${name}.json`, directory), "utf8");
}

/** A fresh parsed copy, safe to modify. */
export function reviewJson(
  name: ReviewFixture,
): Record<string, unknown> & { request: Record<string, unknown> } {
  return JSON.parse(reviewText(name));
}
