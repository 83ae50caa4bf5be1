// Sustained review load from concurrent workers, half on kept-alive connections and half on a new connection per
// request, with every outcome counted: answered, refused at connect, or failed after reaching the server.

import { Agent, request } from "node:https";
import type { TLSSocket } from "node:tls";

export interface LoadTarget {
  readonly port: number;
  readonly ca: readonly string[];
}

export interface LoadTally {
  /** Answered 200 with an AdmissionReview that carries a patch. */
  ok: number;
  /** Refused at connect (ECONNREFUSED): the server had stopped listening, nothing reached it. */
  refused: number;
  /**
   * Reset before the TLS handshake finished on a new connection: it sat in the kernel's listen backlog when
   * the listener closed, so no byte of a request was sent and nothing reached the webhook.
   */
  resetInBacklog: number;
  /** Anything else: an error status, a reset or hang-up after connecting, a TLS failure; with the reason. */
  failed: number;
  failures: Map<string, number>;
  /** SHA-256 fingerprints of the certificates the server presented. */
  readonly certificates: Set<string>;
}

export interface LoadOptions {
  readonly workers: number;
  /** Requests stop being started once this returns true. */
  readonly stop: (tally: LoadTally) => boolean;
  /** Workers stop at their first refused connection (the server is gone for good). */
  readonly stopWhenRefused?: boolean;
}

function once(
  target: LoadTarget,
  body: string,
  agent: Agent | false,
  tally: LoadTally,
): Promise<"answered" | "refused"> {
  return new Promise((resolve) => {
    const fail = (reason: string) => {
      tally.failed++;
      tally.failures.set(reason, (tally.failures.get(reason) ?? 0) + 1);
      resolve("answered");
    };
    const req = request(
      {
        host: "127.0.0.1",
        servername: "localhost",
        port: target.port,
        method: "POST",
        path: "/mutate",
        ca: [...target.ca],
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const certificate = (res.socket as TLSSocket).getPeerCertificate?.();
        if (certificate?.fingerprint256) tally.certificates.add(certificate.fingerprint256);
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("error", (error: NodeJS.ErrnoException) => fail(`response ${error.code ?? error.message}`));
        res.on("end", () => {
          if (res.statusCode === 200 && text.includes('"patchType":"JSONPatch"')) {
            tally.ok++;
            resolve("answered");
          } else fail(`HTTP ${res.statusCode} ${text.slice(0, 120)}`);
        });
      },
    );
    let handshaken = false;
    req.on("socket", (socket) => {
      if (req.reusedSocket) handshaken = true;
      else
        socket.once("secureConnect", () => {
          handshaken = true;
        });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") {
        tally.refused++;
        resolve("refused");
      } else if (error.code === "ECONNRESET" && !handshaken) {
        tally.resetInBacklog++;
        resolve("refused");
      } else
        fail(
          `${error.code ?? error.message} (${req.reusedSocket ? "on a kept-alive connection" : "on a new connection"})`,
        );
    });
    req.end(body);
  });
}

/** Runs workers that each send one review after another until options.stop(); resolves with the tally. */
export async function runLoad(target: LoadTarget, body: string, options: LoadOptions): Promise<LoadTally> {
  const tally: LoadTally = {
    ok: 0,
    refused: 0,
    resetInBacklog: 0,
    failed: 0,
    failures: new Map(),
    certificates: new Set(),
  };
  const agents: Agent[] = [];
  const workers = Array.from({ length: options.workers }, async (_, index) => {
    const agent = index % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) agents.push(agent);
    while (!options.stop(tally)) {
      const outcome = await once(target, body, agent, tally);
      if (outcome === "refused" && options.stopWhenRefused) return;
    }
  });
  await Promise.all(workers);
  for (const agent of agents) agent.destroy();
  return tally;
}

export function describeFailures(tally: LoadTally): string {
  return [...tally.failures].map(([reason, count]) => `${count}× ${reason}`).join("; ");
}
