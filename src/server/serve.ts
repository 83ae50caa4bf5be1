// The running webhook: the admission app on HTTPS with a reloadable certificate, /metrics on plain HTTP, and close().

import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { FastifyInstance, FastifyServerFactory } from "fastify";
import { type AppDeps, buildApp } from "./app.js";
import { type CertificateWatch, loadCertificateFiles, watchCertificateFiles } from "./certificate-files.js";
import { capConnections, connectionCap, connectionLimits, fileDescriptorLimit } from "./connection-limits.js";
import { buildMetricsApp } from "./metrics-app.js";
import { expirySeconds, type ServingCertificate, secureContextOptions, tlsSettings } from "./tls.js";

export interface ServerDeps extends Omit<AppDeps, "isCertificateLoaded" | "isDraining"> {
  /** The pair presented; startServer loads --tls-cert/--tls-key into it, or something else installs one. */
  readonly certificate: ServingCertificate;
}

export interface ServeOptions {
  readonly listenAddress: string;
  readonly port: number;
  /** Plain-HTTP /metrics port on the same address; absent: no metrics server; 0: any free port. */
  readonly metricsPort?: number;
  /**
   * PEM files to serve, loaded before listening (startServer rejects if they are not a valid pair) and reloaded
   * when they change. Absent when the certificate is installed into deps.certificate by other means.
   */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /**
   * How long close() keeps listening and answering before it stops accepting: readyz fails and every answer
   * closes its connection, so clients move to another replica while the endpoint is being removed. Default 0.
   */
  readonly shutdownDelayMs?: number;
  /** After the delay, how long close() lets in-flight reviews finish before it closes their connections. */
  readonly shutdownTimeoutMs: number;
  /** --max-connections: open HTTPS connections at most; idle ones are closed near the cap (capConnections). */
  readonly maxConnections: number;
  /** Certificate file polling; tests shorten it. */
  readonly certificatePollIntervalMs?: number;
}

export interface RunningServer {
  /** Where the HTTPS admission server listens. */
  address(): AddressInfo;
  /** Where /metrics listens, when it does. */
  metricsAddress(): AddressInfo | undefined;
  /** Drains for shutdownDelayMs, stops accepting, lets in-flight reviews finish (up to shutdownTimeoutMs), closes. */
  close(): Promise<void>;
}

function httpsServerFactory(
  certificate: ServingCertificate,
  maxConnections: number,
): {
  factory: FastifyServerFactory;
  server: () => Server;
} {
  let server: Server | undefined;
  const factory = ((handler: Parameters<FastifyServerFactory>[0]) => {
    const pair = certificate.current();
    server = createServer(
      {
        ...(pair !== undefined ? secureContextOptions(pair) : tlsSettings),
        handshakeTimeout: connectionLimits.handshakeTimeoutMs,
        headersTimeout: connectionLimits.headersTimeoutMs,
        requestTimeout: connectionLimits.requestTimeoutMs,
        connectionsCheckingInterval: connectionLimits.connectionsCheckingIntervalMs,
        keepAliveTimeout: connectionLimits.keepAliveTimeoutMs,
      },
      handler,
    );
    server.setTimeout(connectionLimits.socketTimeoutMs);
    capConnections(server, maxConnections);
    return server;
  }) as unknown as FastifyServerFactory;
  return {
    factory,
    server() {
      if (server === undefined) throw new Error("the HTTPS server has not been created");
      return server;
    },
  };
}

/** Loads the certificate, listens, and wires certificate reloads and metrics; the caller owns deps.source. */
export async function startServer(deps: ServerDeps, options: ServeOptions): Promise<RunningServer> {
  const { certificate, metrics, logger } = deps;
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new Error("--tls-cert and --tls-key go together: give both or neither");
  }
  const files =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { certPath: options.tlsCert, keyPath: options.tlsKey }
      : undefined;
  if (files !== undefined) await loadCertificateFiles(files, certificate);

  const fileLimit = await fileDescriptorLimit();
  const maxConnections = connectionCap(options.maxConnections, fileLimit);
  if (maxConnections < options.maxConnections) {
    logger.warn(
      { maxConnections: options.maxConnections, fileLimit, lowered: maxConnections },
      "--max-connections is above what the file descriptor limit leaves; lowered (raise the limit or the flag)",
    );
  }
  const https = httpsServerFactory(certificate, maxConnections);
  let draining = false;
  const app = buildApp(
    { ...deps, isCertificateLoaded: () => certificate.isLoaded(), isDraining: () => draining },
    https.factory,
  );
  // The server was made with the pair current then; from here on (no await in between) every install swaps it in.
  const server = https.server();
  const stopInstalls = certificate.onInstall((pair) => {
    server.setSecureContext(secureContextOptions(pair));
    metrics.certificateExpiry(expirySeconds(pair.certificate));
  });
  const presented = certificate.current();
  if (presented !== undefined) metrics.certificateExpiry(expirySeconds(presented.certificate));
  metrics.cacheSizeFrom(() => deps.source.size());
  let watch: CertificateWatch | undefined;
  let metricsApp: FastifyInstance | undefined;
  try {
    if (files !== undefined) {
      watch = watchCertificateFiles(files, certificate, logger, {
        ...(options.certificatePollIntervalMs !== undefined
          ? { pollIntervalMs: options.certificatePollIntervalMs }
          : {}),
      });
    }
    await app.listen({ host: options.listenAddress, port: options.port });
    if (options.metricsPort !== undefined) {
      metricsApp = buildMetricsApp(metrics.registry);
      await metricsApp.listen({ host: options.listenAddress, port: options.metricsPort });
    }
  } catch (error) {
    watch?.stop();
    stopInstalls();
    await Promise.allSettled([app.close(), metricsApp?.close()]);
    throw error;
  }
  logger.info(
    {
      address: server.address(),
      metricsAddress: metricsApp?.server.address() ?? null,
      certificateLoaded: certificate.isLoaded(),
    },
    "webhook listening",
  );

  let closed: Promise<void> | undefined;
  return {
    address: () => server.address() as AddressInfo,
    metricsAddress: () => (metricsApp?.server.address() as AddressInfo | null) ?? undefined,
    close() {
      closed ??= (async () => {
        draining = true;
        const delayMs = options.shutdownDelayMs ?? 0;
        if (delayMs > 0) {
          logger.info(
            { shutdownDelayMs: delayMs },
            "draining: answering with Connection: close before closing",
          );
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
        watch?.stop();
        stopInstalls();
        const deadline = setTimeout(() => {
          logger.warn(
            { shutdownTimeoutMs: options.shutdownTimeoutMs },
            "closing connections of unfinished reviews",
          );
          server.closeAllConnections();
        }, options.shutdownTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
        }
        await metricsApp?.close();
      })();
      return closed;
    },
  };
}
