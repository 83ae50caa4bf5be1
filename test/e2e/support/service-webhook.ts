// A webhook process reached as the API server reaches a Service's endpoint: /readyz by the Service's name,
// and which pods it reviewed, read from its log.
import { request } from "node:https";

export interface ServiceEndpoint {
  readonly address: string;
  readonly port: number;
  /** `<service>.<namespace>.svc`, sent by SNI and checked against the certificate when caPem is given. */
  readonly serviceHost: string;
}

/**
 * GET /readyz on the endpoint, asking for the Service's name by SNI. With caPem the chain and the name must
 * check out, as the API server checks them; without it the certificate is not verified (e.g. before the CA is known).
 */
export function serviceReadyz(endpoint: ServiceEndpoint, caPem?: string): Promise<number> {
  const { address, port, serviceHost } = endpoint;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port,
        path: "/readyz",
        servername: serviceHost,
        ...(caPem === undefined ? { rejectUnauthorized: false } : { ca: caPem }),
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET /readyz on ${address}:${port}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** The `pod` of each "review" log line for namespace (one JSON object per line, as the webhook logs). */
export function reviewedPods(log: string, namespace: string): string[] {
  const pods: string[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; namespace?: string; pod?: string };
    if (entry.msg === "review" && entry.namespace === namespace && entry.pod !== undefined)
      pods.push(entry.pod);
  }
  return pods;
}
