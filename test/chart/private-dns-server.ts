// Inside private-dns.ts's namespaces: serves DNS on 127.0.0.1:53 the way the mode says, runs the command,
// and exits with its status (as the namespace's first process, taking the server and namespaces with it).
//
// Usage: private-dns-server.ts silent|nxdomain COMMAND [ARG...]
//   silent:   reads every query and never answers, like a cluster DNS Service nobody serves.
//   nxdomain: answers every query "no such name", like a DNS server without the Service's record.

import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";

const [mode, command, ...args] = process.argv.slice(2);
if ((mode !== "silent" && mode !== "nxdomain") || command === undefined) {
  process.stderr.write("usage: private-dns-server.ts silent|nxdomain COMMAND [ARG...]\n");
  process.exit(2);
}

/** The NXDOMAIN answer to `query`: its id and question, flags QR, RD as asked, RA, RCODE 3, no records. */
function nxdomain(query: Buffer): Buffer | undefined {
  if (query.length < 12) return undefined;
  let end = 12;
  while (end < query.length && query[end] !== 0) end += (query[end] ?? 0) + 1;
  end += 5; // the root label's 0, then QTYPE and QCLASS
  if (end > query.length) return undefined;
  const answer = Buffer.from(query.subarray(0, end));
  const recursionDesired = (query[2] ?? 0) & 0x01;
  answer[2] = 0x80 | ((query[2] ?? 0) & 0x78) | recursionDesired;
  answer[3] = 0x80 | 0x03;
  answer.writeUInt16BE(1, 4);
  answer.writeUInt16BE(0, 6);
  answer.writeUInt16BE(0, 8);
  answer.writeUInt16BE(0, 10);
  return answer;
}

const socket = createSocket("udp4");
socket.on("message", (query, peer) => {
  if (mode === "silent") return;
  const answer = nxdomain(query);
  if (answer !== undefined) socket.send(answer, peer.port, peer.address);
});
socket.on("error", (error) => {
  process.stderr.write(`private-dns-server: ${error.message}\n`);
  process.exit(1);
});
socket.bind(53, "127.0.0.1", () => {
  const child = spawn(command, args, { stdio: "inherit" });
  child.on("error", (error) => {
    process.stderr.write(`private-dns-server: cannot run ${command}: ${error.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
});
