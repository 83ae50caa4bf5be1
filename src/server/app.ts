// The admission app: fastify with the review, health and error concerns registered, not listening.

import fastify, { type FastifyError, type FastifyInstance, type FastifyServerFactory } from "fastify";
import type { Logger } from "pino";
import type { EventSink } from "../events/recorder.js";
import type { EngineOptions } from "../mutation/options.js";
import type { ServiceAccountSource } from "../serviceaccounts/source.js";
import { createAdmissionLimits } from "./admission-limits.js";
import { admissionRoutes } from "./admission-route.js";
import { errorReply, notFound, sendError } from "./errors.js";
import { healthRoutes } from "./health.js";
import type { Metrics } from "./metrics.js";

export interface AppDeps {
  readonly options: EngineOptions;
  readonly source: ServiceAccountSource;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** --max-body-bytes: larger bodies get 413, judged from Content-Length or while streaming. */
  readonly maxBodyBytes: number;
  /** --max-reviews-in-flight and --max-bytes-in-flight: over either, /mutate answers 429 with Retry-After. */
  readonly maxReviewsInFlight: number;
  readonly maxBytesInFlight: number;
  /** --lookup-timeout, which the source enforces; the review adds a backstop a little later. */
  readonly lookupTimeoutMs: number;
  isCertificateLoaded(): boolean;
  /** Self-managed certificates: whether the webhook configuration's caBundle trusts the served certificate yet. */
  readonly isCertificateTrusted?: () => boolean;
  /** --events: review warnings queued as Kubernetes Events; absent: none are recorded. */
  readonly events?: EventSink;
  /** SIGTERM was received: the server still answers, but readyz fails and every answer closes its connection. */
  readonly isDraining?: () => boolean;
}

/** How much later than --lookup-timeout a review stops waiting for a source that did not time out itself. */
const lookupGuardSlackMs = 1000;

/**
 * Builds the app without listening: tests use `app.inject`, serve.ts passes a factory for its HTTPS server.
 * Fastify's own request logging is off: each review writes one line itself.
 */
export function buildApp(deps: AppDeps, serverFactory?: FastifyServerFactory): FastifyInstance {
  const app = fastify({
    logger: false,
    bodyLimit: deps.maxBodyBytes,
    // On close, idle keep-alive sockets are closed at once; requests in flight finish first. A request that
    // arrives on an open connection while closing is still answered: a 503 there would fail a pod creation.
    forceCloseConnections: "idle",
    return503OnClosing: false,
    ...(serverFactory !== undefined ? { serverFactory } : {}),
  });

  // Node keeps a kept-alive socket open after its last answer, which would hold close() until keepAliveTimeout;
  // answers sent once closing has begun end their connection instead.
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing || deps.isDraining?.() === true) reply.header("connection", "close");
    done(null, payload);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = errorReply(error, request, deps.maxBodyBytes);
    if (answer.statusCode >= 500) deps.logger.error({ err: error, url: request.url }, "request failed");
    sendError(reply, answer);
  });
  app.setNotFoundHandler(notFound);

  app.register(
    healthRoutes({
      serviceAccountsReady: () => deps.source.isReady(),
      isCertificateLoaded: () => deps.isCertificateLoaded(),
      ...(deps.isCertificateTrusted !== undefined
        ? { isCertificateTrusted: () => deps.isCertificateTrusted?.() === true }
        : {}),
      ...(deps.isDraining !== undefined ? { isDraining: deps.isDraining } : {}),
    }),
  );
  const limits = createAdmissionLimits({
    maxReviewsInFlight: deps.maxReviewsInFlight,
    maxBytesInFlight: deps.maxBytesInFlight,
    maxBodyBytes: deps.maxBodyBytes,
  });
  deps.metrics.inFlightFrom(limits);
  app.register(
    admissionRoutes({
      limits,
      options: deps.options,
      source: deps.source,
      lookupGuardMs: deps.lookupTimeoutMs + lookupGuardSlackMs,
      logger: deps.logger,
      metrics: deps.metrics,
      maxBodyBytes: deps.maxBodyBytes,
      ...(deps.events !== undefined ? { events: deps.events } : {}),
    }),
  );
  return app;
}
