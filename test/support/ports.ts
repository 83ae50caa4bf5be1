// Finds free TCP ports on the loopback interface for the control plane and the webhooks to listen on.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

// Ports are picked below the kernel's ephemeral range. A port the OS hands out for listen(0) comes from that range,
// so between our probe and the real listen() any outgoing connection (kube-apiserver to etcd, a test's fetch) may
// take it as its local port, and the server then fails with "address already in use" (seen in CI). Below the range
// only another listener can take it.
const lowestPort = 10_000;
const fallbackEphemeralStart = 32_768;

function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const value = Number(start);
    return Number.isInteger(value) && value > lowestPort + 1_000 ? value : fallbackEphemeralStart;
  } catch {
    return fallbackEphemeralStart;
  }
}

const rangeEnd = ephemeralRangeStart();
/** Handed out by this process already, so two servers started by one test never get the same port. */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1, outside the ephemeral range, that no listener held a moment ago. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lowestPort + Math.floor(Math.random() * (rangeEnd - lowestPort));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found on 127.0.0.1 between ${lowestPort} and ${rangeEnd - 1}`);
}
