// The servers' limits against slow, stuck or idle clients, in a module of its own: the benchmark's null
// webhook applies the same keep-alive without loading the app.

import { readFile } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";

/** Server-side limits against slow or stuck clients. */
export const connectionLimits = {
  /** A TLS handshake must finish within this. */
  handshakeTimeoutMs: 10_000,
  /** Request headers must arrive within this, the whole request within requestTimeoutMs. */
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  /** How often Node checks those two. */
  connectionsCheckingIntervalMs: 1_000,
  /**
   * Idle kept-alive connections stay open longer than the API server's Go client keeps them (90 s), so the
   * client, not us, closes them; otherwise a review sent as we close a socket fails (Go does not retry a
   * POST). Idle floods are bounded by --max-connections and capConnections' eviction instead.
   */
  keepAliveTimeoutMs: 95_000,
  /** A socket silent this long during a request is closed. */
  socketTimeoutMs: 30_000,
} as const;

/**
 * The plain-HTTP /metrics port: a scraper every 15 s or more needs no long keep-alive, and a new plain TCP
 * connection per scrape costs nothing, so idle connections go within seconds. A few scrapers at once.
 */
export const metricsConnectionLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  connectionsCheckingIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  socketTimeoutMs: 10_000,
  maxConnections: 64,
} as const;

/** Share of the cap kept free by closing idle connections, so a new client is not refused. */
const evictionHeadroom = 0.1;

/**
 * At most `maxConnections` open connections (Node refuses more), and once nine tenths are open, each new one
 * closes the idle ones (kept alive, or connected without a request yet) to make room: an idle flood costs
 * its sockets a reconnect instead of locking out the API server, and never takes more file descriptors than
 * the cap. Connections still in their TLS handshake are not idle; handshakeTimeoutMs bounds those.
 */
export function capConnections(server: HttpServer | HttpsServer, maxConnections: number): void {
  server.maxConnections = maxConnections;
  const evictAt = Math.max(1, Math.floor(maxConnections * (1 - evictionHeadroom)));
  let open = 0;
  server.on("connection", (socket) => {
    open += 1;
    socket.once("close", () => {
      open -= 1;
    });
    if (open >= evictAt) server.closeIdleConnections();
  });
  server.on("drop", () => server.closeIdleConnections());
}

/** File descriptors kept for everything but HTTPS connections: /metrics' cap, the API server, files. */
const reservedFileDescriptors = metricsConnectionLimits.maxConnections + 128;

/** The soft RLIMIT_NOFILE ("Max open files" of /proc/self/limits); undefined where there is none to read. */
export async function fileDescriptorLimit(): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile("/proc/self/limits", "utf8");
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/**
 * --max-connections, lowered to what the file descriptor limit leaves after the reserve: a cap above it
 * would let an idle flood reach EMFILE, after which certificate reloads and the API server's watch fail.
 */
export function connectionCap(maxConnections: number, fileLimit: number | undefined): number {
  if (fileLimit === undefined) return maxConnections;
  return Math.max(16, Math.min(maxConnections, fileLimit - reservedFileDescriptors));
}
