// The admission app in memory (buildApp + inject) with the ServiceAccounts the generated pods name.

import type { FastifyInstance } from "fastify";
import { defaultEngineOptions, type EngineOptions } from "../../../src/mutation/options.js";
import type { ServiceAccountRecord } from "../../../src/mutation/pod.js";
import { buildApp } from "../../../src/server/app.js";
import { createMetrics, type Metrics } from "../../../src/server/metrics.js";
import { FakeServiceAccountSource } from "../../server/support/fake-serviceaccount-source.js";
import { defaultAdmissionLimits } from "../../server/support/limits.js";
import { type CapturedLog, captureLog } from "../../server/support/log-capture.js";
import type { HttpAnswer } from "./answer-check.js";
import { namespace, prefix, serviceAccountNames } from "./arbitraries.js";

export const appRole = "arn:aws:iam::111122223333:role/app";
export const otherNamespaceRole = "arn:aws:iam::444455556666:role/other-team";

export const generatedServiceAccounts: readonly ServiceAccountRecord[] = [
  { namespace, name: serviceAccountNames.withRole, annotations: { [`${prefix}/role-arn`]: appRole } },
  {
    namespace,
    name: serviceAccountNames.withEverything,
    annotations: {
      [`${prefix}/role-arn`]: "arn:aws:iam::111122223333:role/tuned",
      [`${prefix}/audience`]: "custom.example.com",
      [`${prefix}/sts-regional-endpoints`]: "true",
      [`${prefix}/token-expiration`]: "3600",
      "eks.amazon.com/role-arn": "arn:aws:iam::111122223333:role/typo",
    },
  },
  { namespace, name: serviceAccountNames.withoutRole, annotations: {} },
  { namespace, name: serviceAccountNames.unicode, annotations: { [`${prefix}/role-arn`]: appRole } },
  {
    namespace: "other",
    name: serviceAccountNames.withRole,
    annotations: { [`${prefix}/role-arn`]: otherNamespaceRole },
  },
];

export interface InMemoryWebhook {
  readonly app: FastifyInstance;
  readonly source: FakeServiceAccountSource;
  readonly metrics: Metrics;
  readonly log: CapturedLog;
  /** POSTs a body (text as is, anything else as JSON) to /mutate. */
  post(body: unknown, contentType?: string): Promise<HttpAnswer>;
}

export interface InMemoryWebhookOptions {
  readonly engine?: EngineOptions;
  readonly serviceAccounts?: readonly ServiceAccountRecord[];
  readonly maxBodyBytes?: number;
  readonly logLevel?: string;
}

export async function inMemoryWebhook(options: InMemoryWebhookOptions = {}): Promise<InMemoryWebhook> {
  const source = new FakeServiceAccountSource(options.serviceAccounts ?? generatedServiceAccounts);
  const metrics = createMetrics({ defaultMetrics: false });
  const log = captureLog(options.logLevel ?? "info");
  const app = buildApp({
    options: options.engine ?? { ...defaultEngineOptions, region: "eu-west-1" },
    source,
    logger: log.logger,
    metrics,
    maxBodyBytes: options.maxBodyBytes ?? 3 * 1024 * 1024,
    ...defaultAdmissionLimits,
    lookupTimeoutMs: 2000,
    isCertificateLoaded: () => true,
  });
  await app.ready();
  return {
    app,
    source,
    metrics,
    log,
    async post(body, contentType = "application/json") {
      const answer = await app.inject({
        method: "POST",
        url: "/mutate",
        headers: { "content-type": contentType },
        payload: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: answer.statusCode, text: answer.body };
    },
  };
}
