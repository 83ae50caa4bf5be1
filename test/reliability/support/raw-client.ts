// Raw TLS and TCP sockets to the webhook, for clients that misbehave: slow, silent, oversized.

import { type Socket, connect as tcpConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

export interface RawConnection {
  readonly socket: Socket | TLSSocket;
  /** Everything the server sent so far, as text. */
  received(): string;
  /**
   * Resolves with the milliseconds since the connection was established (a TLS one: since its handshake
   * completed, when the server's HTTP timeouts start) when the server closes (or resets) it.
   */
  readonly closed: Promise<number>;
  /** Resolves when `text` has arrived. */
  waitFor(text: string): Promise<void>;
}

function watch(socket: Socket | TLSSocket, startedAt: number): RawConnection {
  const chunks: Buffer[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("latin1");
    for (const waiter of waiters.splice(0)) {
      if (text.includes(waiter.text)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  // Errors (a reset, a write after the server closed) end the connection like a close does.
  socket.on("error", () => {});
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => resolve(Date.now() - startedAt)),
  );
  return {
    socket,
    received: () => Buffer.concat(chunks).toString("latin1"),
    closed,
    waitFor(text) {
      if (Buffer.concat(chunks).toString("latin1").includes(text)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ text, resolve }));
    },
  };
}

/** A TLS connection, resolved once the handshake is done. */
export function openTls(port: number, ca: readonly string[]): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    // Timed from the handshake's end: 200 handshakes at once can queue for a second on a busy machine.
    const socket = tlsConnect({ host: "127.0.0.1", servername: "localhost", port, ca: [...ca] }, () => {
      socket.off("error", reject);
      resolve(watch(socket, Date.now()));
    });
    socket.once("error", reject);
  });
}

/** A TCP connection that never starts TLS. */
export function openTcp(port: number): Promise<RawConnection> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      resolve(watch(socket, startedAt));
    });
    socket.once("error", reject);
  });
}

/** Writes `text` one byte every `intervalMs` until done or the socket closes; resolves with the bytes written. */
export async function dribble(connection: RawConnection, text: string, intervalMs: number): Promise<number> {
  const bytes = Buffer.from(text);
  let sent = 0;
  let open = true;
  void connection.closed.then(() => {
    open = false;
  });
  while (open && sent < bytes.length) {
    connection.socket.write(bytes.subarray(sent, sent + 1));
    sent++;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return sent;
}

/** The status code of the first HTTP response in `text`, if one has arrived. */
export function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
