// Turning any failed request into a JSON `{error}` with the right 4xx, and never a stack trace in a response.

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/** An error that carries the HTTP status to answer with and a message safe to show the client. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.statusCode = statusCode;
  }
}

export interface ErrorReply {
  readonly statusCode: number;
  readonly message: string;
  /** A short name for metrics, e.g. "body-too-large". */
  readonly reason: string;
}

/** What to answer for an error; unknown errors become a bare 500 whose detail goes only to the log. */
export function errorReply(
  error: FastifyError | Error,
  request: FastifyRequest,
  maxBodyBytes: number,
): ErrorReply {
  if (error instanceof HttpError)
    return { statusCode: error.statusCode, message: error.message, reason: "bad-request" };
  const code = (error as FastifyError).code;
  switch (code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        statusCode: 413,
        message: `the body is larger than ${maxBodyBytes} bytes (--max-body-bytes)`,
        reason: "body-too-large",
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE": {
      const type = request.headers["content-type"];
      return {
        statusCode: 415,
        message:
          type === undefined || type === ""
            ? "the request has no Content-Type; send the AdmissionReview as application/json"
            : `content type ${JSON.stringify(type.slice(0, 100))} is not supported; send application/json`,
        reason: "unsupported-media-type",
      };
    }
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return {
        statusCode: 400,
        message: "the body's length does not match Content-Length",
        reason: "bad-request",
      };
  }
  const statusCode = (error as FastifyError).statusCode;
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return { statusCode, message: error.message, reason: "bad-request" };
  }
  return { statusCode: 500, message: "internal error; see the webhook's log", reason: "internal-error" };
}

/** Sends `{error}`; a body the server did not read (413, 415) closes the connection rather than being drained. */
export function sendError(reply: FastifyReply, answer: ErrorReply): void {
  if (answer.statusCode === 413 || answer.statusCode === 415) reply.header("connection", "close");
  reply.code(answer.statusCode).send({ error: answer.message });
}

export function notFound(request: FastifyRequest, reply: FastifyReply): void {
  reply.code(404).send({
    error: `no route for ${request.method} ${request.url.slice(0, 200)}; reviews go to POST /mutate`,
  });
}
