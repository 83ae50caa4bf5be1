// The flood phase's attacker: AdmissionReviews of a few megabytes at a fixed concurrency, posted from the
// bench process while the load generator sends normal reviews, counting what each got back.

import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import type { LoadTarget } from "./load-protocol.js";
import { admissionReview } from "./reviews.js";

/** A medium review whose first container gets env entries until the body is `bytes` long. */
export function floodReview(bytes: number): Buffer {
  const review = JSON.parse(admissionReview("medium")) as {
    request: { object: { spec: { containers: { env?: { name: string; value: string }[] }[] } } };
  };
  const container = review.request.object.spec.containers[0];
  if (container === undefined) throw new Error("the medium review has no container");
  const entry = (n: number) => ({ name: `FLOOD_${n}`, value: `value-${n}-${"x".repeat(40)}` });
  const perEntry = JSON.stringify(entry(100_000)).length + 1;
  const missing = bytes - Buffer.byteLength(JSON.stringify(review));
  const env = container.env ?? [];
  for (let n = 0; n < Math.ceil(missing / perEntry); n++) env.push(entry(n + 100_000));
  container.env = env;
  return Buffer.from(JSON.stringify(review));
}

export interface FloodOutcome {
  /** Reviews posted. */
  readonly sent: number;
  /** By answer: "200", "429", "413", ..., or "reset" when the connection closed before an answer. */
  readonly answers: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** Posts `body` up to `reviews` times, `concurrency` at once, until done or `stop()` resolves. */
export async function flood(
  target: LoadTarget,
  body: Buffer,
  reviews: number,
  concurrency: number,
  stop: Promise<unknown>,
): Promise<FloodOutcome> {
  const ca = readFileSync(target.caPath, "utf8");
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const answers: Record<string, number> = {};
  let sent = 0;
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const post = (): Promise<string> =>
    new Promise((resolve) => {
      const req = request(
        {
          host: target.host,
          servername: "localhost",
          port: target.port,
          method: "POST",
          path: "/mutate",
          agent,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          res.resume();
          res.once("end", () => resolve(String(res.statusCode)));
          res.once("error", () => resolve("reset"));
        },
      );
      // A 429 closes the connection while the body is still going out: the answer may be lost to a reset.
      req.once("error", () => resolve("reset"));
      req.end(body);
    });
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stopped && sent < reviews) {
          sent++;
          const answer = await post();
          answers[answer] = (answers[answer] ?? 0) + 1;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return { sent, answers, seconds: Math.round((performance.now() - started) / 100) / 10 };
}
