// The load generator's HTTP/1.1 client: one keep-alive TLS connection, one POST in flight, its answer framed by
// Content-Length.
//
// Why not node:https: the generator shares the machine's 2 cores with the webhook it measures, so its own CPU
// and its GC pauses (of the many objects each ClientRequest and IncomingMessage allocates) leaked into the
// latency and capped the closed loop. node:https cost it about 215 µs of CPU per medium review at 2,000/s
// (0.43 cores) and 88 µs at 11,000/s against the null webhook. This client writes one prebuilt Buffer per
// request and reads only the status, Content-Length and Connection of the answer. In closed loops of 16
// connections (medium reviews): against the null webhook 30,000/s at 24 µs per review (node:https: 11,700/s
// at 84 µs); against the webhook 81-89 µs per review (node:https: 117-134 µs), the rest mostly TLS and the
// kernel's loopback sends.

import { connect, type SecureContext, type TLSSocket } from "node:tls";

export interface HttpsTarget {
  readonly host: string;
  readonly port: number;
  /** Trusts the server's CA (tls.createSecureContext({ ca })): built once, shared by every connection. */
  readonly secureContext: SecureContext;
  readonly servername?: string;
}

/** undefined for a 200, else an error kind: "status 500", "ECONNRESET", "unsupported response framing: ...". */
export type Outcome = string | undefined;

/** Hears how a request ended and, when it was posted with `capture` and answered 200, the answer's body. */
export type Done = (outcome: Outcome, answer: Buffer | undefined) => void;

/** A POST's head and body in one Buffer, so a request is one write; `body` is a view of its body. */
export interface PostRequest {
  readonly bytes: Buffer;
  /** Shares memory with `bytes`: stamping a uid here changes the request. */
  readonly body: Buffer;
}

/** Builds a JSON POST of `body` (copied) to `path`. */
export function postRequest(
  target: Pick<HttpsTarget, "host" | "port">,
  path: string,
  body: Buffer,
): PostRequest {
  const head = Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    "latin1",
  );
  const bytes = Buffer.concat([head, body]);
  return { bytes, body: bytes.subarray(head.length) };
}

const headEnd = Buffer.from("\r\n\r\n");
/** An answer whose head is longer than this is not one of our servers'. */
const maxHeadBytes = 16 * 1024;
const statusLine = /^http\/1\.[01] ([1-5]\d\d)/;
const closeToken = /(?:^|,)\s*close\s*(?:,|$)/;
// Header keys as they appear in a lowercased head: CRLF, name, colon.
const transferEncoding = "\r\ntransfer-encoding:";
const contentLength = "\r\ncontent-length:";
const connection = "\r\nconnection:";

/** The value of the header at `key` (e.g. "\r\ncontent-length:") in a lowercased head, or undefined. */
function headerValue(head: string, key: string): string | undefined {
  const at = head.indexOf(key);
  if (at < 0) return undefined;
  const end = head.indexOf("\r\n", at + key.length);
  return head.slice(at + key.length, end < 0 ? undefined : end).trim();
}

/**
 * One keep-alive HTTPS connection, opened at the first post and opened again after the server closed it (or
 * answered `Connection: close`), or after an error. No timers: the caller bounds the run.
 */
export class HttpConnection {
  readonly #target: HttpsTarget;
  #socket: TLSSocket | undefined;
  #done: Done | undefined;
  #capture = false;
  /** The answer's head so far, while it spans several chunks. */
  #partialHead: Buffer | undefined;
  /** 0 until the answer's head is read. */
  #status = 0;
  #remaining = 0;
  #closeAfter = false;
  readonly #body: Buffer[] = [];

  constructor(target: HttpsTarget) {
    this.#target = target;
  }

  /** Writes `request` (a PostRequest's bytes); `done` is called once, unless close() comes first. */
  post(request: Buffer, capture: boolean, done: Done): void {
    if (this.#done !== undefined) throw new Error("HttpConnection.post: a request is already in flight");
    this.#done = done;
    this.#capture = capture;
    if (this.#socket === undefined || !this.#socket.writable) this.#socket = this.#open();
    this.#socket.write(request);
  }

  /** Closes the connection; a request in flight is dropped without calling its `done`. */
  close(): void {
    this.#done = undefined;
    this.#reset();
  }

  #open(): TLSSocket {
    this.#socket?.destroy();
    const socket = connect(this.#target);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      if (socket === this.#socket) this.#receive(chunk);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (socket === this.#socket) this.#fail(error.code ?? error.message);
    });
    // Closed without an error mid-request: node:https calls that "socket hang up", code ECONNRESET.
    socket.on("close", () => {
      if (socket === this.#socket) this.#fail("ECONNRESET");
    });
    return socket;
  }

  #receive(chunk: Buffer): void {
    if (this.#done === undefined) {
      this.#reset();
      return;
    }
    let data = chunk;
    if (this.#status === 0) {
      if (this.#partialHead !== undefined) data = Buffer.concat([this.#partialHead, chunk]);
      const end = data.indexOf(headEnd);
      if (end < 0) {
        if (data.length > maxHeadBytes) this.#fail(`invalid response: head over ${maxHeadBytes} bytes`);
        else this.#partialHead = data;
        return;
      }
      this.#partialHead = undefined;
      const failure = this.#readHead(data.toString("latin1", 0, end).toLowerCase());
      if (failure !== undefined) {
        this.#fail(failure);
        return;
      }
      data = data.subarray(end + headEnd.length);
    }
    if (data.length > this.#remaining) {
      this.#fail("invalid response: bytes after the body");
      return;
    }
    if (this.#capture && this.#status === 200 && data.length > 0) this.#body.push(data);
    this.#remaining -= data.length;
    if (this.#remaining === 0) this.#complete();
  }

  /** Reads the status, the body's length and whether the server closes; returns an error kind if it cannot. */
  #readHead(head: string): Outcome {
    const status = statusLine.exec(head)?.[1];
    if (status === undefined) return "invalid response: no HTTP/1.1 status line";
    if (headerValue(head, transferEncoding) !== undefined) {
      return "unsupported response framing: Transfer-Encoding";
    }
    const length = headerValue(head, contentLength);
    if (length === undefined) return "unsupported response framing: no Content-Length";
    if (!/^\d+$/.test(length)) return `invalid response: Content-Length ${JSON.stringify(length)}`;
    this.#status = Number(status);
    this.#remaining = Number(length);
    this.#closeAfter = closeToken.test(headerValue(head, connection) ?? "");
    return undefined;
  }

  #complete(): void {
    const done = this.#done;
    const status = this.#status;
    const answer = this.#capture && status === 200 ? Buffer.concat(this.#body) : undefined;
    this.#done = undefined;
    if (this.#closeAfter) this.#reset();
    else this.#clearAnswer();
    done?.(status === 200 ? undefined : `status ${status}`, answer);
  }

  /** Fails the request in flight, if any, and drops the connection: its framing can no longer be trusted. */
  #fail(kind: string): void {
    const done = this.#done;
    this.#done = undefined;
    this.#reset();
    done?.(kind, undefined);
  }

  #reset(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#clearAnswer();
  }

  #clearAnswer(): void {
    this.#partialHead = undefined;
    this.#status = 0;
    this.#remaining = 0;
    this.#closeAfter = false;
    this.#body.length = 0;
  }
}
