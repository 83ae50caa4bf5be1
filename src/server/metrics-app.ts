// The plain-HTTP /metrics app, apart from the HTTPS admission app so scrapes need no certificate.

import fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export function buildMetricsApp(registry: Registry): FastifyInstance {
  const app = fastify({ logger: false, forceCloseConnections: true });
  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ error: "only GET /metrics is served on this port" });
  });
  return app;
}
