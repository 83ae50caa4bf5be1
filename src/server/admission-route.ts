// POST /mutate: JSON body in, one decoded review, one AdmissionReview answer out, one log line and metric per request.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { reviewResponseJson } from "../admission/response.js";
import { decodeReview } from "../admission/review.js";
import type { EventSink } from "../events/recorder.js";
import type { AdmissionLimits, OverloadLimit } from "./admission-limits.js";
import { type ErrorReply, errorReply, HttpError, sendError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { type ReviewDeps, reviewPod } from "./review.js";

export interface AdmissionRouteDeps extends ReviewDeps {
  readonly limits: AdmissionLimits;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly maxBodyBytes: number;
  /** --events: where review warnings go as Kubernetes Events; record() only queues. */
  readonly events?: EventSink;
}

export const mutatePath = "/mutate";

declare module "fastify" {
  interface FastifyRequest {
    /** performance.now() when the request's head arrived: reviews are timed from here. */
    reviewStartedAt: number;
  }
}

const jsonType = "application/json; charset=utf-8";

function parseJson(
  _request: FastifyRequest,
  body: string | Buffer,
  done: (error: Error | null, body?: unknown) => void,
) {
  if (body.length === 0) {
    done(new HttpError(400, "the body is empty; send an AdmissionReview as JSON"));
    return;
  }
  try {
    done(null, JSON.parse(body as string));
  } catch (error) {
    done(new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`));
  }
}

/** Seconds a client is told to wait after a 429: a review in flight is answered within milliseconds. */
export const overloadRetryAfterSeconds = 1;

const overloadMessages: Readonly<Record<OverloadLimit, string>> = {
  "reviews-in-flight": "too many reviews in flight (--max-reviews-in-flight); retry shortly",
  "bytes-in-flight": "too many request bytes in flight (--max-bytes-in-flight); retry shortly",
};

/** A declared Content-Length, or undefined for a chunked body (a bad value is fastify's 400 later). */
function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers["content-length"];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

export function admissionRoutes(deps: AdmissionRouteDeps) {
  const { logger, metrics, maxBodyBytes, limits } = deps;

  function rejected(reply: FastifyReply, answer: ErrorReply): void {
    const durationMs = elapsedMs(reply.request);
    metrics.review("invalid", answer.reason, durationMs / 1000);
    logger.warn(
      { status: answer.statusCode, error: answer.message, durationMs: round(durationMs) },
      "review rejected",
    );
    sendError(reply, answer);
  }

  return async function admission(app: FastifyInstance): Promise<void> {
    // Only JSON is accepted here; anything else is a 415 from fastify before the body is read.
    // fastify's reply.elapsedTime stays 0 unless its own request logging or an onResponse hook is on, so the
    // review is timed here, from the head's arrival (before the body is read) to the answer.
    app.decorateRequest("reviewStartedAt", 0);
    app.addHook("onRequest", (request, reply, done) => {
      request.reviewStartedAt = performance.now();
      // Judged on the head alone, before the body is read: a refused body is never buffered. The body is
      // not drained either; the connection closes after the answer.
      const ticket = limits.admit(declaredLength(request));
      if (!ticket.admitted) {
        metrics.overloaded(ticket.limit);
        reply
          .code(429)
          .header("retry-after", String(overloadRetryAfterSeconds))
          .header("connection", "close")
          .send({ error: overloadMessages[ticket.limit] });
        return;
      }
      // "close" comes once the answer is sent or the connection is gone, whichever way the request ends.
      reply.raw.once("close", ticket.release);
      done();
    });
    // Every answer of this route, 429s and 4xx included, as the reference webhook counts them.
    app.addHook("onResponse", (request, reply, done) => {
      const path = request.url.split("?", 1)[0] ?? request.url;
      metrics.httpRequest(request.method, path, reply.statusCode, elapsedMs(request) / 1000);
      done();
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("application/json", { parseAs: "string", bodyLimit: maxBodyBytes }, parseJson);

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const answer = errorReply(error, request, maxBodyBytes);
      if (answer.statusCode >= 500) logger.error({ err: error }, "review failed");
      rejected(reply, answer);
    });

    app.post(mutatePath, async (request, reply) => {
      if (request.body === undefined) {
        rejected(reply, {
          statusCode: 400,
          message: "the body is empty; send an AdmissionReview as JSON",
          reason: "empty-body",
        });
        return reply;
      }
      const decoded = decodeReview(request.body);
      if (!decoded.ok) {
        rejected(reply, { statusCode: 400, message: decoded.problem, reason: "invalid-review" });
        return reply;
      }
      const review = decoded.request;
      const result = await reviewPod(review, deps);
      const durationMs = elapsedMs(request);
      metrics.review(result.outcome, result.reason, durationMs / 1000);
      if (result.event !== undefined) deps.events?.record(result.event);
      const line = {
        uid: review.uid,
        namespace: review.namespace,
        ...(result.podFacts ?? { kind: review.kind.kind, operation: review.operation }),
        reason: result.reason,
        mutated: result.outcome === "mutated",
        warnings: result.response.warnings?.length ?? 0,
        durationMs: round(durationMs),
      };
      if (result.error === undefined) logger.info(line, "review");
      else if (result.reason === "lookup-failed") logger.warn({ ...line, error: result.error }, "review");
      else logger.error({ ...line, error: result.error }, "review");
      // Sent as text with its type set, so fastify does not serialize it again.
      return reply.type(jsonType).send(reviewResponseJson(review.apiVersion, result.response));
    });
  };
}

/** 0 for a request that failed before its onRequest hook ran. */
function elapsedMs(request: FastifyRequest): number {
  return request.reviewStartedAt === 0 ? 0 : performance.now() - request.reviewStartedAt;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
