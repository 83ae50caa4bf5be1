// A webhook that does no work: it echoes the uid with a fixed answer. Benchmarked like the real one, it shows
// the ceiling of the harness itself (load generator, TLS, HTTP) on this machine.
// Takes the flags of `serve` it needs (--listen-address, --port, --tls-cert, --tls-key) and ignores the rest.

import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { connectionLimits } from "../../src/server/connection-limits.js";

const argv = process.argv.slice(2);
function flag(name: string): string {
  const value = argv[argv.indexOf(`--${name}`) + 1];
  if (value === undefined) throw new Error(`null-webhook: --${name} is required`);
  return value;
}

const uidKey = Buffer.from('"uid":"');
const uidLength = 36;
const patch = Buffer.from(
  JSON.stringify([{ op: "add", path: "/spec/volumes/-", value: { name: "aws-iam-token" } }]),
);
const answerHead = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"';
const answerTail = `","allowed":true,"patchType":"JSONPatch","patch":"${patch.toString("base64")}"}}`;

const server = createServer(
  { cert: readFileSync(flag("tls-cert")), key: readFileSync(flag("tls-key")) },
  (req, res) => {
    if (req.method !== "POST") {
      res.writeHead(200).end("ok");
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      // The request's own uid is the first "uid" in the body the bench sends.
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const at = body.indexOf(uidKey) + uidKey.length;
      const answer = Buffer.from(`${answerHead}${body.toString("latin1", at, at + uidLength)}${answerTail}`);
      res.writeHead(200, { "content-type": "application/json", "content-length": answer.length }).end(answer);
    });
  },
);
// The webhook's keep-alive (src/server/serve.ts). With Node's default of 5 s, a connection the open loop left
// idle for 5 s was closed under it, and the request it then carried failed: an error of the harness, not the
// server.
server.keepAliveTimeout = connectionLimits.keepAliveTimeoutMs;
server.listen(Number(flag("port")), flag("listen-address"));
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
