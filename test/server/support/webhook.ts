// The real webhook server on 127.0.0.1, an ephemeral port and a Secret-volume certificate, with a fake source.

import { defaultEngineOptions, type EngineOptions } from "../../../src/mutation/options.js";
import type { ServiceAccountRecord } from "../../../src/mutation/pod.js";
import { createMetrics, type Metrics } from "../../../src/server/metrics.js";
import { type RunningServer, startServer } from "../../../src/server/serve.js";
import { ServingCertificate } from "../../../src/server/tls.js";
import { FakeServiceAccountSource } from "./fake-serviceaccount-source.js";
import type { HttpsTarget } from "./https-client.js";
import { defaultAdmissionLimits, defaultMaxConnections } from "./limits.js";
import { type CapturedLog, captureLog } from "./log-capture.js";
import { type Pair, SecretVolume, selfSignedPair } from "./secret-volume.js";

export const roleArn = "arn:aws:iam::111122223333:role/app";

/** The ServiceAccount of the pod in test/fixtures/reviews/pod-create-*.json. */
export const appServiceAccount: ServiceAccountRecord = {
  namespace: "shop",
  name: "app",
  annotations: { "eks.amazonaws.com/role-arn": roleArn },
};

export interface TestWebhookOptions {
  readonly source?: FakeServiceAccountSource;
  readonly engine?: EngineOptions;
  readonly metricsPort?: number;
  readonly maxBodyBytes?: number;
  readonly maxReviewsInFlight?: number;
  readonly maxBytesInFlight?: number;
  readonly maxConnections?: number;
  readonly lookupTimeoutMs?: number;
  readonly shutdownTimeoutMs?: number;
  readonly shutdownDelayMs?: number;
  readonly certificatePollIntervalMs?: number;
  readonly pair?: Pair;
}

export interface TestWebhook extends HttpsTarget {
  readonly server: RunningServer;
  readonly source: FakeServiceAccountSource;
  readonly metrics: Metrics;
  readonly log: CapturedLog;
  readonly volume: SecretVolume;
  readonly certificate: ServingCertificate;
  /** Closes the server (if still open) and removes the certificate files. */
  stop(): Promise<void>;
}

export async function startTestWebhook(options: TestWebhookOptions = {}): Promise<TestWebhook> {
  const pair = options.pair ?? (await selfSignedPair());
  const volume = await SecretVolume.create(pair);
  const source = options.source ?? new FakeServiceAccountSource([appServiceAccount]);
  const metrics = createMetrics({ defaultMetrics: false });
  const log = captureLog();
  const certificate = new ServingCertificate();
  const server = await startServer(
    {
      options: options.engine ?? defaultEngineOptions,
      source,
      logger: log.logger,
      metrics,
      maxBodyBytes: options.maxBodyBytes ?? 3 * 1024 * 1024,
      maxReviewsInFlight: options.maxReviewsInFlight ?? defaultAdmissionLimits.maxReviewsInFlight,
      maxBytesInFlight: options.maxBytesInFlight ?? defaultAdmissionLimits.maxBytesInFlight,
      lookupTimeoutMs: options.lookupTimeoutMs ?? 2000,
      certificate,
    },
    {
      listenAddress: "127.0.0.1",
      port: 0,
      maxConnections: options.maxConnections ?? defaultMaxConnections,
      ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
      tlsCert: volume.certPath,
      tlsKey: volume.keyPath,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5000,
      ...(options.shutdownDelayMs !== undefined ? { shutdownDelayMs: options.shutdownDelayMs } : {}),
      ...(options.certificatePollIntervalMs !== undefined
        ? { certificatePollIntervalMs: options.certificatePollIntervalMs }
        : {}),
    },
  );
  return {
    port: server.address().port,
    get ca() {
      return volume.trusted;
    },
    server,
    source,
    metrics,
    log,
    volume,
    certificate,
    async stop() {
      await server.close();
      await volume.remove();
    },
  };
}
