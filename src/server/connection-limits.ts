// The HTTPS server's limits against slow, stuck or idle clients, in a module of its own: the benchmark's null
// webhook applies the same keep-alive without loading the app.

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
   * client, not us, closes them; otherwise a review sent as we close a socket fails.
   */
  keepAliveTimeoutMs: 95_000,
  /** A socket silent this long during a request is closed. */
  socketTimeoutMs: 30_000,
} as const;
