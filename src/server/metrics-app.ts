// The plain-HTTP /metrics app, apart from the HTTPS admission app so scrapes need no certificate.

import { createServer } from "node:http";
import fastify, { type FastifyInstance, type FastifyServerFactory } from "fastify";
import type { Registry } from "prom-client";
import { capConnections, metricsConnectionLimits as limits } from "./connection-limits.js";

// Node's defaults keep an idle connection a minute (headers 60 s, checked every 30 s): a flood of them
// exhausted file descriptors. These close one within seconds, and cap how many are open.
const serverFactory = ((handler: Parameters<FastifyServerFactory>[0]) => {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    },
    handler,
  );
  server.setTimeout(limits.socketTimeoutMs);
  capConnections(server, limits.maxConnections);
  return server;
}) as unknown as FastifyServerFactory;

export function buildMetricsApp(registry: Registry): FastifyInstance {
  const app = fastify({ logger: false, forceCloseConnections: true, serverFactory });
  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ error: "only GET /metrics is served on this port" });
  });
  return app;
}
