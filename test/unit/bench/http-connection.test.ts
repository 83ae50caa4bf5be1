import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { type BenchCertificates, writeBenchCertificates } from "../../bench/certificates.js";
import { HttpConnection, type HttpsTarget, type Outcome, postRequest } from "../../bench/http-connection.js";

interface Answer {
  readonly outcome: Outcome;
  readonly answer: string | undefined;
}

function post(connection: HttpConnection, target: HttpsTarget, path: string, body: string): Promise<Answer> {
  const request = postRequest(target, path, Buffer.from(body));
  return new Promise((resolve) =>
    connection.post(request.bytes, true, (outcome, answer) =>
      resolve({ outcome, answer: answer?.toString() }),
    ),
  );
}

function listen(server: Server | TlsServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: Server | TlsServer): Promise<void> {
  if ("closeAllConnections" in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

describe("HttpConnection", { timeout: 10_000 }, () => {
  let dir: string;
  let certificates: BenchCertificates;
  let otherCa: string;
  let server: Server;
  let target: HttpsTarget;
  /** TLS connections the server accepted, and the requests it read, in order. */
  let connections = 0;
  const seen: { path: string; headers: Record<string, unknown>; body: string }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "http-connection-"));
    certificates = await writeBenchCertificates(dir);
    otherCa = (await writeBenchCertificates(await mkdtemp(join(dir, "other-")))).caPem;
    const tls = { cert: await readFile(certificates.certPath), key: await readFile(certificates.keyPath) };
    server = createServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ path: req.url ?? "", headers: req.headers, body });
        const answer = `{"echo":${body}}`;
        switch (req.url) {
          case "/echo":
            res.writeHead(200, { "content-type": "application/json", "content-length": answer.length });
            res.end(answer);
            return;
          case "/close":
            res.writeHead(200, { "content-length": answer.length, connection: "close" });
            res.end(answer);
            return;
          case "/fail":
            res.writeHead(500, { "content-length": 5 }).end("boom!");
            return;
          case "/chunked":
            res.writeHead(200);
            res.write(answer);
            res.end();
            return;
          case "/cut":
            res.writeHead(200, { "content-length": 1000 });
            res.write(answer);
            setTimeout(() => req.socket.destroy(), 10);
            return;
        }
      });
    });
    server.on("secureConnection", () => connections++);
    const port = await listen(server);
    target = { host: "127.0.0.1", port, secureContext: createSecureContext({ ca: certificates.caPem }) };
  });
  after(async () => {
    await close(server);
    await rm(dir, { recursive: true, force: true });
  });

  it("posts the body with its Content-Length and reads the answer", async () => {
    seen.length = 0;
    const connection = new HttpConnection(target);
    assert.deepEqual(await post(connection, target, "/echo", '{"a":1}'), {
      outcome: undefined,
      answer: '{"echo":{"a":1}}',
    });
    connection.close();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.path, "/echo");
    assert.equal(seen[0]?.body, '{"a":1}');
    assert.deepEqual(
      {
        host: seen[0]?.headers.host,
        type: seen[0]?.headers["content-type"],
        accept: seen[0]?.headers.accept,
        length: seen[0]?.headers["content-length"],
      },
      { host: `127.0.0.1:${target.port}`, type: "application/json", accept: "application/json", length: "7" },
    );
  });

  it("keeps the connection for the next request, whatever the body's length", async () => {
    const before = connections;
    const connection = new HttpConnection(target);
    assert.equal((await post(connection, target, "/echo", "1")).answer, '{"echo":1}');
    assert.equal((await post(connection, target, "/echo", '"longer"')).answer, '{"echo":"longer"}');
    connection.close();
    assert.equal(connections - before, 1);
  });

  it("keeps no answer when not asked to capture it", async () => {
    const connection = new HttpConnection(target);
    const request = postRequest(target, "/echo", Buffer.from("1"));
    const result = await new Promise<[Outcome, Buffer | undefined]>((resolve) =>
      connection.post(request.bytes, false, (outcome, answer) => resolve([outcome, answer])),
    );
    connection.close();
    assert.deepEqual(result, [undefined, undefined]);
  });

  it("fails a request answered with another status than 200 with the status", async () => {
    const connection = new HttpConnection(target);
    assert.deepEqual(await post(connection, target, "/fail", "1"), {
      outcome: "status 500",
      answer: undefined,
    });
    assert.equal((await post(connection, target, "/echo", "2")).answer, '{"echo":2}');
    connection.close();
  });

  it("opens a new connection after an answer with Connection: close", async () => {
    const before = connections;
    const connection = new HttpConnection(target);
    assert.deepEqual(await post(connection, target, "/close", "1"), {
      outcome: undefined,
      answer: '{"echo":1}',
    });
    assert.deepEqual(await post(connection, target, "/echo", "2"), {
      outcome: undefined,
      answer: '{"echo":2}',
    });
    connection.close();
    assert.equal(connections - before, 2);
  });

  it("fails a chunked answer as unsupported framing, and the next request succeeds", async () => {
    const connection = new HttpConnection(target);
    assert.deepEqual(await post(connection, target, "/chunked", "1"), {
      outcome: "unsupported response framing: Transfer-Encoding",
      answer: undefined,
    });
    assert.equal((await post(connection, target, "/echo", "2")).answer, '{"echo":2}');
    connection.close();
  });

  it("fails a request whose connection is cut mid-answer, and the next request succeeds", async () => {
    const connection = new HttpConnection(target);
    assert.deepEqual(await post(connection, target, "/cut", "1"), {
      outcome: "ECONNRESET",
      answer: undefined,
    });
    assert.deepEqual(await post(connection, target, "/echo", "2"), {
      outcome: undefined,
      answer: '{"echo":2}',
    });
    connection.close();
  });

  it("refuses a server whose certificate the trusted CA did not sign", async () => {
    // Both bench CAs have the same name: the server's certificate names the other as its issuer.
    const untrusting = { ...target, secureContext: createSecureContext({ ca: otherCa }) };
    const connection = new HttpConnection(untrusting);
    assert.deepEqual(await post(connection, untrusting, "/echo", "1"), {
      outcome: "CERT_SIGNATURE_FAILURE",
      answer: undefined,
    });
    connection.close();
  });

  describe("against a server that writes its answer in pieces", () => {
    let raw: TlsServer;
    let rawTarget: HttpsTarget;
    /** The answer the raw server sends, one write per piece. */
    let pieces: string[] = [];

    before(async () => {
      const tls = { cert: await readFile(certificates.certPath), key: await readFile(certificates.keyPath) };
      raw = createTlsServer(tls, (socket) => {
        socket.setNoDelay(true);
        socket.on("error", () => undefined);
        let received = "";
        socket.on("data", async (chunk: Buffer) => {
          received += chunk.toString("latin1");
          const headEnd = received.indexOf("\r\n\r\n");
          const length = Number(/content-length: (\d+)/i.exec(received)?.[1]);
          if (headEnd < 0 || received.length < headEnd + 4 + length) return;
          received = "";
          for (const piece of pieces) {
            socket.write(piece);
            await tick();
          }
        });
      });
      const port = await listen(raw);
      rawTarget = { ...target, port };
    });
    after(() => close(raw));

    function ok(body: string): Answer {
      return { outcome: undefined, answer: body };
    }

    const answer =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n" + '{"uid":"1234"}';
    const cases: { name: string; cut: number[] }[] = [
      { name: "the head cut in its status line and a header", cut: [6, 40] },
      { name: "the blank line cut in two", cut: [answer.indexOf("\r\n\r\n") + 2] },
      { name: "the body cut in three", cut: [answer.length - 10, answer.length - 4] },
      { name: "one byte at a time", cut: [...Array(answer.length).keys()].slice(1) },
    ];

    for (const { name, cut } of cases) {
      it(`reads an answer with ${name}`, async () => {
        pieces = [0, ...cut].map((from, i) => answer.slice(from, cut[i]));
        assert.equal(pieces.join(""), answer);
        const connection = new HttpConnection(rawTarget);
        assert.deepEqual(await post(connection, rawTarget, "/", "1"), ok('{"uid":"1234"}'));
        assert.deepEqual(await post(connection, rawTarget, "/", "2"), ok('{"uid":"1234"}'));
        connection.close();
      });
    }

    it("reads the header names whatever their case, and fails an answer without Content-Length", async () => {
      const connection = new HttpConnection(rawTarget);
      pieces = ["HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\nCONNECTION: Close\r\n\r\n{}"];
      assert.deepEqual(await post(connection, rawTarget, "/", "1"), ok("{}"));
      pieces = ["HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}"];
      assert.deepEqual(await post(connection, rawTarget, "/", "2"), {
        outcome: "unsupported response framing: no Content-Length",
        answer: undefined,
      });
      connection.close();
    });

    it("fails an answer longer than its Content-Length, and the next request succeeds", async () => {
      const connection = new HttpConnection(rawTarget);
      pieces = ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}{}"];
      assert.deepEqual(await post(connection, rawTarget, "/", "1"), {
        outcome: "invalid response: bytes after the body",
        answer: undefined,
      });
      pieces = ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"];
      assert.deepEqual(await post(connection, rawTarget, "/", "2"), ok("{}"));
      connection.close();
    });
  });
});
