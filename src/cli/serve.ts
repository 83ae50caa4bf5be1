// `web-identity-webhook serve`: builds the webhook's parts from flags, starts them, and stops them on SIGTERM.

import { hostname } from "node:os";
import { type Logger, pino } from "pino";
import { certificateConfigFrom, type SelfManagedCertificateConfig } from "../certs/config.js";
import { CertificateController } from "../certs/controller.js";
import { certificateFlags } from "../certs/flags.js";
import { configMapNamespaceFrom, type ServeConfig, serveConfigFrom } from "../config/config.js";
import { serveFlags } from "../config/flags.js";
import { ConfigError, formatFlagHelp, parseFlags } from "../config/parse.js";
import { referenceFlagWarnings, referenceOnlyFlags } from "../config/reference-flags.js";
import type { EventRecorder } from "../events/recorder.js";
import { annotationVocabulary, isRelevantAnnotation } from "../identity/annotations.js";
import type { KubeConnection } from "../kube/connection.js";
import { RolePolicyError } from "../policy/role-policy.js";
import { createMetrics, type Metrics } from "../server/metrics.js";
import { ensureSelfSignedCertificate } from "../server/self-signed.js";
import { type RunningServer, startServer } from "../server/serve.js";
import { exitOnShutdownSignal } from "../server/signals.js";
import { ServingCertificate } from "../server/tls.js";
import { ServiceAccountCache } from "../serviceaccounts/cache.js";
import type { ServiceAccountSource } from "../serviceaccounts/source.js";
import { type CliIo, exitCode } from "./io.js";

const flags = [...serveFlags, ...certificateFlags];

export const serveUsage = `Usage: web-identity-webhook serve [flags]

Runs the mutating admission webhook: POST /mutate, GET /healthz and GET /readyz over HTTPS,
/metrics over plain HTTP on --metrics-port. ServiceAccounts come from the cluster (in-cluster
configuration or --kubeconfig) or from --service-accounts-file.

Flags (each also read from its environment variable):
${formatFlagHelp(flags)}

The reference webhook's (amazon-eks-pod-identity-webhook) flags are accepted too, with one dash or two:
ours by the same name, the rest ignored with a warning or refused with the reason (see the README).`;

export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(`${serveUsage}\n`);
    return exitCode.ok;
  }
  let config: ServeConfig;
  let certificates: ReturnType<typeof certificateConfigFrom>;
  let referenceWarnings: readonly string[];
  try {
    const { values, positionals } = parseFlags([...flags, ...referenceOnlyFlags], argv, io.env);
    if (positionals.length > 0)
      throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    referenceWarnings = referenceFlagWarnings(values);
    config = serveConfigFrom(values);
    const configMapNamespace = configMapNamespaceFrom(values, io.env);
    if (configMapNamespace !== undefined) config = { ...config, configMapNamespace };
    certificates = certificateConfigFrom(values, io.env);
    if (config.rolePolicyFile !== undefined) {
      // The YAML parser is loaded only when a file needs it (here, --service-accounts-file and a kubeconfig).
      const { readRolePolicyFile } = await import("../policy/file.js");
      const rolePolicy = await readRolePolicyFile(config.rolePolicyFile);
      config = { ...config, engine: { ...config.engine, rolePolicy } };
    }
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof RolePolicyError)) throw error;
    io.stderr.write(`web-identity-webhook serve: ${error.message}\n`);
    return exitCode.usage;
  }

  const logger = pino({ level: config.logLevel, base: { component: "web-identity-webhook" } });
  for (const warning of referenceWarnings) logger.warn(warning);
  if (config.engine.rolePolicy !== undefined) {
    const namespaces = [...config.engine.rolePolicy.namespaces.keys()];
    logger.info({ file: config.rolePolicyFile, namespaces }, "role policy loaded");
  }
  try {
    return await serve(config, certificates, logger);
  } catch (error) {
    logger.fatal({ error: error instanceof Error ? error.message : String(error) }, "cannot start");
    return exitCode.failed;
  }
}

async function serve(
  config: ServeConfig,
  certificates: ReturnType<typeof certificateConfigFrom>,
  logger: Logger,
): Promise<number> {
  const metrics = createMetrics();
  if (certificates.mode === "self-managed" && config.serviceAccountsFile !== undefined) {
    throw new ConfigError(
      "--cert-mode self-managed needs a cluster: it cannot be used with --service-accounts-file",
    );
  }
  // Loaded only for a cluster, so that --service-accounts-file runs without any Kubernetes client code.
  const connection =
    config.serviceAccountsFile === undefined ? await clusterConnection(config, logger) : undefined;
  const source = await serviceAccountSource(config, connection, metrics, logger);
  const events =
    config.events && connection !== undefined ? await eventRecorder(connection, metrics, logger) : undefined;
  const certificate = new ServingCertificate();

  let controller: CertificateController | undefined;
  if (certificates.mode === "self-managed" && connection !== undefined) {
    controller = await certificateController(certificates, connection, certificate, logger);
  } else if (
    config.generateSelfSigned &&
    (await ensureSelfSignedCertificate(config.tlsCert, config.tlsKey))
  ) {
    logger.info(
      { cert: config.tlsCert, key: config.tlsKey },
      "generated a self-signed certificate for local use",
    );
  }

  // The server listens before the cache is synced so probes answer (readyz says what is missing).
  const server: RunningServer = await startServer(
    {
      options: config.engine,
      source,
      logger,
      metrics,
      certificate,
      maxBodyBytes: config.maxBodyBytes,
      maxReviewsInFlight: config.maxReviewsInFlight,
      maxBytesInFlight: config.maxBytesInFlight,
      lookupTimeoutMs: config.lookupTimeoutMs,
      ...(events !== undefined ? { events } : {}),
      ...(controller !== undefined ? { isCertificateTrusted: () => controller.isReady() } : {}),
    },
    {
      listenAddress: config.listenAddress,
      port: config.port,
      maxConnections: config.maxConnections,
      shutdownDelayMs: config.shutdownDelayMs,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      ...(config.metricsPort > 0 ? { metricsPort: config.metricsPort } : {}),
      ...(certificates.mode === "file" ? { tlsCert: config.tlsCert, tlsKey: config.tlsKey } : {}),
    },
  );

  const stopped = new Promise<number>((resolve) => {
    exitOnShutdownSignal(
      async () => {
        await server.close();
        await Promise.allSettled([source.stop(), controller?.stop(), events?.stop()]);
      },
      { logger, shutdownTimeoutMs: config.shutdownDelayMs + config.shutdownTimeoutMs, exit: resolve },
    );
  });

  events?.start();
  const started = Date.now();
  try {
    await Promise.all([
      source
        .start()
        .then(() =>
          logger.info({ serviceAccounts: source.size(), ms: Date.now() - started }, "ServiceAccounts synced"),
        ),
      controller?.start().then(() => logger.info("serving certificate installed")),
    ]);
  } catch (error) {
    // Nothing can make this process ready (e.g. a bad --service-accounts-file): stop listening and fail.
    await Promise.allSettled([server.close(), source.stop(), controller?.stop(), events?.stop()]);
    throw error;
  }
  logger.info({ ms: Date.now() - started }, "ready");
  return stopped;
}

async function clusterConnection(config: ServeConfig, logger: Logger): Promise<KubeConnection> {
  const { loadKubeConnection } = await import("../kube/connection.js");
  const connection = await loadKubeConnection(config.kubeconfig, { env: process.env });
  logger.info({ server: connection.server, from: connection.origin }, "API server");
  return connection;
}

async function serviceAccountSource(
  config: ServeConfig,
  connection: KubeConnection | undefined,
  metrics: Metrics,
  logger: Logger,
): Promise<ServiceAccountSource> {
  const prefix = config.engine.annotationPrefix;
  const keepAnnotation = (key: string) => isRelevantAnnotation(key, prefix);
  if (connection === undefined) {
    const { ServiceAccountFile } = await import("../serviceaccounts/file.js");
    return new ServiceAccountFile(config.serviceAccountsFile as string, keepAnnotation);
  }
  const { createKubeServiceAccountApi } = await import("../serviceaccounts/kube-api.js");
  const cache = new ServiceAccountCache(
    {
      api: createKubeServiceAccountApi(connection),
      keepAnnotation,
      logger: logger.child({ part: "serviceaccounts" }),
      events: {
        cacheMiss: () => metrics.cacheMiss(),
        liveLookup: (outcome) => metrics.liveLookup(outcome),
        negativeCacheHit: () => metrics.negativeCacheHit(),
        lookupRateLimited: () => metrics.lookupRateLimited(),
        watchRestart: (reason) => metrics.watchRestart(reason),
      },
    },
    {
      lookupTimeoutMs: config.lookupTimeoutMs,
      lookupRatePerSecond: config.lookupRatePerSecond,
      negativeCacheTtlMs: config.negativeCacheTtlMs,
    },
  );
  if (config.configMapNamespace === undefined) return cache;
  const [{ ConfigMapEntriesHolder, withConfigMapEntries }, { ConfigMapWatch, createKubeConfigMapApi }] =
    await Promise.all([
      import("../serviceaccounts/config-map-source.js"),
      import("../serviceaccounts/config-map-watch.js"),
    ]);
  const configMapLogger = logger.child({ part: "configmap" });
  const holder = new ConfigMapEntriesHolder({ logger: configMapLogger });
  const watch = new ConfigMapWatch(config.configMapNamespace, {
    api: createKubeConfigMapApi(connection, config.configMapNamespace),
    holder,
    logger: configMapLogger,
  });
  return withConfigMapEntries(cache, holder, watch, annotationVocabulary(prefix).keys);
}

async function eventRecorder(
  connection: KubeConnection,
  metrics: Metrics,
  logger: Logger,
): Promise<EventRecorder> {
  const [{ EventRecorder, defaultEventRecorderOptions }, { createKubeEventApi }, { systemClock }] =
    await Promise.all([
      import("../events/recorder.js"),
      import("../events/kube-api.js"),
      import("../serviceaccounts/clock.js"),
    ]);
  return new EventRecorder(
    {
      api: createKubeEventApi(connection),
      clock: systemClock,
      logger: logger.child({ part: "events" }),
      reports: {
        emitted: (request) => metrics.eventEmitted(request),
        dropped: (reason, occurrences) => metrics.eventsDropped(reason, occurrences),
      },
    },
    // In a pod the host name is the pod's name, which events.k8s.io/v1 wants as reportingInstance.
    { ...defaultEventRecorderOptions, reportingInstance: hostname().slice(0, 128) },
  );
}

async function certificateController(
  settings: SelfManagedCertificateConfig,
  connection: KubeConnection,
  certificate: ServingCertificate,
  logger: Logger,
): Promise<CertificateController> {
  const { mode: _mode, ...options } = settings;
  const { KubeCertStore } = await import("../certs/kube-store.js");
  return new CertificateController(options, {
    store: new KubeCertStore(connection),
    clock: { now: Date.now },
    random: Math.random,
    logger: logger.child({ part: "certificates" }),
    install: (certPem, keyPem) => {
      const reading = certificate.install(certPem, keyPem);
      if (!reading.ok) throw new Error(`the self-managed certificate cannot be served: ${reading.problem}`);
    },
  });
}
