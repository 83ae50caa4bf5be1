// `web-identity-webhook serve`: builds the webhook's parts from flags, starts them, and stops them on SIGTERM.

import type { KubeConfig } from "@kubernetes/client-node";
import { type Logger, pino } from "pino";
import { certificateConfigFrom, type SelfManagedCertificateConfig } from "../certs/config.js";
import { CertificateController } from "../certs/controller.js";
import { certificateFlags } from "../certs/flags.js";
import { KubeCertStore } from "../certs/kube-store.js";
import { type ServeConfig, serveConfigFrom } from "../config/config.js";
import { serveFlags } from "../config/flags.js";
import { ConfigError, formatFlagHelp, parseFlags } from "../config/parse.js";
import { isRelevantAnnotation } from "../identity/annotations.js";
import { readRolePolicyFile } from "../policy/file.js";
import { RolePolicyError } from "../policy/role-policy.js";
import { createMetrics, type Metrics } from "../server/metrics.js";
import { ensureSelfSignedCertificate } from "../server/self-signed.js";
import { type RunningServer, startServer } from "../server/serve.js";
import { exitOnShutdownSignal } from "../server/signals.js";
import { ServingCertificate } from "../server/tls.js";
import { ServiceAccountCache } from "../serviceaccounts/cache.js";
import { ServiceAccountFile } from "../serviceaccounts/file.js";
import { createKubeServiceAccountApi, kubeConfigFor } from "../serviceaccounts/kube-api.js";
import type { ServiceAccountSource } from "../serviceaccounts/source.js";
import { type CliIo, exitCode } from "./io.js";

const flags = [...serveFlags, ...certificateFlags];

export const serveUsage = `Usage: web-identity-webhook serve [flags]

Runs the mutating admission webhook: POST /mutate, GET /healthz and GET /readyz over HTTPS,
/metrics over plain HTTP on --metrics-port. ServiceAccounts come from the cluster (in-cluster
configuration or --kubeconfig) or from --service-accounts-file.

Flags (each also read from its environment variable):
${formatFlagHelp(flags)}`;

export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(`${serveUsage}\n`);
    return exitCode.ok;
  }
  let config: ServeConfig;
  let certificates: ReturnType<typeof certificateConfigFrom>;
  try {
    const { values, positionals } = parseFlags(flags, argv, io.env);
    if (positionals.length > 0)
      throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    config = serveConfigFrom(values);
    certificates = certificateConfigFrom(values, io.env);
    if (config.rolePolicyFile !== undefined) {
      const rolePolicy = await readRolePolicyFile(config.rolePolicyFile);
      config = { ...config, engine: { ...config.engine, rolePolicy } };
    }
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof RolePolicyError)) throw error;
    io.stderr.write(`web-identity-webhook serve: ${error.message}\n`);
    return exitCode.usage;
  }

  const logger = pino({ level: config.logLevel, base: { component: "web-identity-webhook" } });
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
  const kubeConfig = config.serviceAccountsFile === undefined ? kubeConfigFor(config.kubeconfig) : undefined;
  const source = serviceAccountSource(config, kubeConfig, metrics, logger);
  const certificate = new ServingCertificate();

  let controller: CertificateController | undefined;
  if (certificates.mode === "self-managed") {
    if (kubeConfig === undefined) {
      throw new ConfigError(
        "--cert-mode self-managed needs a cluster: it cannot be used with --service-accounts-file",
      );
    }
    controller = certificateController(certificates, kubeConfig, certificate, logger);
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
      lookupTimeoutMs: config.lookupTimeoutMs,
      ...(controller !== undefined ? { isCertificateTrusted: () => controller.isReady() } : {}),
    },
    {
      listenAddress: config.listenAddress,
      port: config.port,
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
        await Promise.allSettled([source.stop(), controller?.stop()]);
      },
      { logger, shutdownTimeoutMs: config.shutdownDelayMs + config.shutdownTimeoutMs, exit: resolve },
    );
  });

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
    await Promise.allSettled([server.close(), source.stop(), controller?.stop()]);
    throw error;
  }
  logger.info({ ms: Date.now() - started }, "ready");
  return stopped;
}

function serviceAccountSource(
  config: ServeConfig,
  kubeConfig: KubeConfig | undefined,
  metrics: Metrics,
  logger: Logger,
): ServiceAccountSource {
  const prefix = config.engine.annotationPrefix;
  const keepAnnotation = (key: string) => isRelevantAnnotation(key, prefix);
  if (kubeConfig === undefined)
    return new ServiceAccountFile(config.serviceAccountsFile as string, keepAnnotation);
  return new ServiceAccountCache(
    {
      api: createKubeServiceAccountApi(kubeConfig),
      keepAnnotation,
      logger: logger.child({ part: "serviceaccounts" }),
      events: {
        cacheMiss: () => metrics.cacheMiss(),
        liveLookup: (outcome) => metrics.liveLookup(outcome),
        watchRestart: (reason) => metrics.watchRestart(reason),
      },
    },
    { lookupTimeoutMs: config.lookupTimeoutMs },
  );
}

function certificateController(
  settings: SelfManagedCertificateConfig,
  kubeConfig: KubeConfig,
  certificate: ServingCertificate,
  logger: Logger,
): CertificateController {
  const { mode: _mode, ...options } = settings;
  return new CertificateController(options, {
    store: new KubeCertStore(kubeConfig),
    clock: { now: Date.now },
    random: Math.random,
    logger: logger.child({ part: "certificates" }),
    install: (certPem, keyPem) => {
      const reading = certificate.install(certPem, keyPem);
      if (!reading.ok) throw new Error(`the self-managed certificate cannot be served: ${reading.problem}`);
    },
  });
}
