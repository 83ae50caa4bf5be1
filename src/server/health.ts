// Liveness and readiness: /healthz answers while the process serves; /readyz only once it can answer reviews well.

import type { FastifyInstance } from "fastify";

export interface ReadinessDeps {
  /** The ServiceAccount source has finished its first list. */
  serviceAccountsReady(): boolean;
  /** A serving certificate is loaded. */
  isCertificateLoaded(): boolean;
  /** When given: the API server trusts the loaded certificate (self-managed mode keeps the caBundle in step). */
  readonly isCertificateTrusted?: () => boolean;
  /** When given: SIGTERM was received and the server is draining; readyz fails so the endpoint is removed. */
  readonly isDraining?: () => boolean;
}

/** What keeps the webhook from being ready, one phrase each; empty when ready. */
export function readinessGaps(deps: ReadinessDeps): string[] {
  const gaps: string[] = [];
  if (deps.isDraining?.() === true) gaps.push("shutting down");
  if (!deps.serviceAccountsReady())
    gaps.push("ServiceAccounts are not loaded yet (the first list has not finished)");
  if (!deps.isCertificateLoaded()) gaps.push("no serving certificate is loaded");
  else if (deps.isCertificateTrusted?.() === false) {
    gaps.push("the webhook configuration's caBundle does not trust the serving certificate yet");
  }
  return gaps;
}

export function healthRoutes(deps: ReadinessDeps) {
  return async function health(app: FastifyInstance): Promise<void> {
    app.get("/healthz", async () => ({ status: "ok" }));
    app.get("/readyz", async (_request, reply) => {
      const gaps = readinessGaps(deps);
      if (gaps.length === 0) return { status: "ready" };
      return reply.code(503).send({ status: "not ready", error: `not ready: ${gaps.join("; ")}` });
    });
  };
}
