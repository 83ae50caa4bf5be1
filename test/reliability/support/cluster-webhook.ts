// The real server wired as `serve --kubeconfig` wires it (ServiceAccount cache, live lookups, metrics), against a
// mock kube API, with short retry delays so faults heal within a test.

import { get } from "node:http";
import { isRelevantAnnotation } from "../../../src/identity/annotations.js";
import { defaultEngineOptions } from "../../../src/mutation/options.js";
import { createMetrics, type Metrics } from "../../../src/server/metrics.js";
import { type RunningServer, startServer } from "../../../src/server/serve.js";
import { ServingCertificate } from "../../../src/server/tls.js";
import { ServiceAccountCache } from "../../../src/serviceaccounts/cache.js";
import { createKubeServiceAccountApi } from "../../../src/serviceaccounts/kube-api.js";
import type { HttpsTarget } from "../../server/support/https-client.js";
import { defaultAdmissionLimits, defaultMaxConnections } from "../../server/support/limits.js";
import { type CapturedLog, captureLog } from "../../server/support/log-capture.js";
import { SecretVolume, selfSignedPair } from "../../server/support/secret-volume.js";
import type { MockKubeApi } from "./mock-kube-api.js";

export interface ClusterWebhook extends HttpsTarget {
  readonly server: RunningServer;
  readonly source: ServiceAccountCache;
  readonly metrics: Metrics;
  readonly log: CapturedLog;
  /** The /metrics text, scraped over HTTP like Prometheus does. */
  scrape(): Promise<string>;
  stop(): Promise<void>;
}

export async function startClusterWebhook(
  api: MockKubeApi,
  options: { readonly lookupTimeoutMs: number },
): Promise<ClusterWebhook> {
  const metrics = createMetrics({ defaultMetrics: false });
  const log = captureLog();
  const prefix = defaultEngineOptions.annotationPrefix;
  const source = new ServiceAccountCache(
    {
      api: createKubeServiceAccountApi(await api.connection()),
      keepAnnotation: (key) => isRelevantAnnotation(key, prefix),
      logger: log.logger,
      events: {
        cacheMiss: () => metrics.cacheMiss(),
        liveLookup: (outcome) => metrics.liveLookup(outcome),
        negativeCacheHit: () => metrics.negativeCacheHit(),
        lookupRateLimited: () => metrics.lookupRateLimited(),
        watchRestart: (reason) => metrics.watchRestart(reason),
      },
    },
    { lookupTimeoutMs: options.lookupTimeoutMs, retryBaseMs: 100, retryMaxMs: 400 },
  );
  const volume = await SecretVolume.create(await selfSignedPair());
  const server = await startServer(
    {
      options: defaultEngineOptions,
      source,
      logger: log.logger,
      metrics,
      certificate: new ServingCertificate(),
      maxBodyBytes: 3 * 1024 * 1024,
      ...defaultAdmissionLimits,
      lookupTimeoutMs: options.lookupTimeoutMs,
    },
    {
      listenAddress: "127.0.0.1",
      port: 0,
      maxConnections: defaultMaxConnections,
      metricsPort: 0,
      tlsCert: volume.certPath,
      tlsKey: volume.keyPath,
      shutdownTimeoutMs: 5000,
    },
  );
  // As serve.ts does: listen first, then load; readyz tells the difference.
  source.start().catch(() => {});
  const metricsPort = server.metricsAddress()?.port;
  return {
    port: server.address().port,
    get ca() {
      return volume.trusted;
    },
    server,
    source,
    metrics,
    log,
    scrape: () =>
      new Promise((resolve, reject) => {
        get({ host: "127.0.0.1", port: metricsPort, path: "/metrics" }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve(text));
        }).on("error", reject);
      }),
    async stop() {
      await server.close();
      await source.stop();
      await volume.remove();
    },
  };
}

/** The value of one sample in Prometheus text, e.g. metric('..._total{outcome="error"}'); 0 when absent. */
export function sample(metricsText: string, series: string): number {
  for (const line of metricsText.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
