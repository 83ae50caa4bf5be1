// The load generator: its own process, posting AdmissionReviews to the webhook over keep-alive HTTPS
// (http-connection.ts: one request in flight per connection, as the API server does).
// Usage (run.ts does this): node --import tsx test/bench/load.ts '<LoadJob as JSON>' → one LoadResult JSON line.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createSecureContext } from "node:tls";
import {
  HttpConnection,
  type HttpsTarget,
  type Outcome,
  type PostRequest,
  postRequest,
} from "./http-connection.js";
import { LatencyRecorder, round } from "./latency.js";
import type {
  BurstSummary,
  LoadJob,
  LoadMessage,
  LoadResult,
  LoadTarget,
  PatchExpectation,
} from "./load-protocol.js";
import { startPacer } from "./pacer.js";
import { admissionReview, type ReviewSize, reviewTemplate, stampUid, uidPlaceholder } from "./reviews.js";

/** How long after its last send a run waits for answers; those still missing count as "unfinished". */
const drainMs = 10_000;
/** Every this many requests, one answer is parsed and checked in full. */
const validateEvery = 1024;

const mutatePath = "/mutate?timeout=10s";

/** Trusts the target's CA; one TLS context for every connection of the run. */
function https(target: LoadTarget): HttpsTarget {
  const ca = readFileSync(target.caPath, "utf8");
  return { host: target.host, port: target.port, secureContext: createSecureContext({ ca }) };
}

/** A connection and the request it posts again and again, a new uid stamped into its body each time. */
interface Sender {
  readonly connection: HttpConnection;
  readonly request: PostRequest;
}

function senders(target: LoadTarget, body: Buffer, count: number): Sender[] {
  const tls = https(target);
  return Array.from({ length: count }, () => ({
    connection: new HttpConnection(tls),
    request: postRequest(tls, mutatePath, body),
  }));
}

interface AdmissionAnswer {
  response?: { uid?: string; allowed?: boolean; patchType?: string; patch?: string };
}

/** Checks an answer in full: the uid echoed, allowed, and a JSON Patch exactly when one is expected. */
function check(answer: Buffer | undefined, body: Buffer, uidAt: number, expect: PatchExpectation): Outcome {
  if (answer === undefined) return "invalid response: empty";
  const uid = body.toString("latin1", uidAt, uidAt + uidPlaceholder.length);
  let response: AdmissionAnswer["response"];
  let patch: unknown;
  try {
    response = (JSON.parse(answer.toString()) as AdmissionAnswer).response;
    patch = response?.patch === undefined ? [] : JSON.parse(Buffer.from(response.patch, "base64").toString());
  } catch {
    return "invalid response: not JSON";
  }
  if (response?.uid !== uid) return "invalid response: uid not echoed";
  if (response.allowed !== true) return "invalid response: not allowed";
  const operations = Array.isArray(patch) ? patch.length : -1;
  if (expect === "patch" && (response.patchType !== "JSONPatch" || operations <= 0)) {
    return "invalid response: no patch";
  }
  if (expect === "no-patch" && operations !== 0) return "invalid response: unexpected patch";
  return undefined;
}

function say(message: LoadMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Tells run.ts when the measured window opens and closes, so it can read the webhook's CPU time then. */
function announceWindow(from: number, to: number): void {
  setTimeout(() => say({ event: "window-start" }), Math.max(0, from - performance.now()));
  setTimeout(() => say({ event: "window-end" }), Math.max(0, to - performance.now()));
}

class Tally {
  readonly kinds: Record<string, number> = {};
  count = 0;
  add(kind: string): void {
    this.count++;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
  }
}

/** Cores used since `cpu` and `wallStart` (performance.now()). */
function coresSince(cpu: NodeJS.CpuUsage, wallStart: number): number {
  const used = process.cpuUsage(cpu);
  return (
    Math.round(((used.user + used.system) / 1e3 / Math.max(1, performance.now() - wallStart)) * 100) / 100
  );
}

interface Template {
  readonly body: Buffer;
  readonly uidDigitsAt: number;
  readonly uidAt: number;
}

function template(size: ReviewSize, serviceAccount?: string): Template {
  const { body, uidDigitsAt } = reviewTemplate(admissionReview(size, serviceAccount));
  return { body, uidDigitsAt, uidAt: uidDigitsAt + 12 - uidPlaceholder.length };
}

/** `sockets` senders, each posting again as soon as its answer arrives, for warm-up plus the measured window. */
function closedLoop(job: Extract<LoadJob, { kind: "closed" }>): Promise<LoadResult> {
  const review = template(job.size);
  const all = senders(job.target, review.body, job.sockets);
  const latency = new LatencyRecorder(1 << 20);
  const errors = new Tally();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const measureTo = measureFrom + job.durationMs;
  let counter = 0;
  let completed = 0;
  let validated = 0;
  let active = job.sockets;
  announceWindow(measureFrom, measureTo);

  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      for (const { connection } of all) connection.close();
      for (let i = 0; i < active; i++) errors.add("unfinished");
      resolve({
        kind: job.kind,
        size: job.size,
        requestBytes: review.body.length,
        seconds: job.durationMs / 1000,
        completed,
        achievedRate: round(completed / (job.durationMs / 1000)),
        errors: errors.count,
        errorKinds: errors.kinds,
        validated,
        latency: latency.summary(),
        generatorCores: coresSince(cpu, start),
      });
    };
    const deadline = setTimeout(finish, job.warmupMs + job.durationMs + drainMs);

    const sendFrom = (sender: Sender): void => {
      const { connection, request } = sender;
      const sentAt = performance.now();
      if (sentAt >= measureTo) {
        active--;
        if (active === 0) finish();
        return;
      }
      const n = counter++;
      stampUid(request.body, review.uidDigitsAt, n);
      const capture = n % validateEvery === 0;
      connection.post(request.bytes, capture, (outcome, answer) => {
        const doneAt = performance.now();
        let result = outcome;
        if (result === undefined && capture) {
          result = check(answer, request.body, review.uidAt, "patch");
          validated++;
        }
        if (sentAt >= measureFrom && doneAt <= measureTo) {
          if (result === undefined) {
            latency.record(doneAt - sentAt);
            completed++;
          } else errors.add(result);
        }
        sendFrom(sender);
      });
    };
    for (const sender of all) sendFrom(sender);
  });
}

/**
 * Requests scheduled every 1/rate seconds; each waits for a free socket, and its latency runs from its
 * scheduled time, so a stalled server is charged for every request it delayed (no coordinated omission).
 */
function openLoop(job: Extract<LoadJob, { kind: "open" }>): Promise<LoadResult> {
  const review = template(job.size);
  const all = senders(job.target, review.body, job.sockets);
  const total = Math.round((job.ratePerSecond * (job.warmupMs + job.durationMs)) / 1000);
  const firstMeasured = Math.round((job.ratePerSecond * job.warmupMs) / 1000);
  const expected = total - firstMeasured;
  const latency = new LatencyRecorder(expected);
  const serviceTime = new LatencyRecorder(expected);
  const sendLag = new LatencyRecorder(expected);
  const errors = new Tally();
  const free = [...all];
  const interval = 1000 / job.ratePerSecond;
  const cpu = process.cpuUsage();
  const start = performance.now() + 5;
  const scheduledAt = (i: number): number => start + i * interval;
  let due = 0;
  let sent = 0;
  let outstanding = 0;
  let completed = 0;
  let validated = 0;
  let lastDoneAt = scheduledAt(firstMeasured);
  announceWindow(scheduledAt(firstMeasured), scheduledAt(total));

  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      void pacer.stop();
      clearTimeout(deadline);
      for (const { connection } of all) connection.close();
      const unfinished = total - sent + outstanding;
      for (let i = 0; i < unfinished; i++) errors.add("unfinished");
      resolve({
        kind: job.kind,
        size: job.size,
        requestBytes: review.body.length,
        seconds: job.durationMs / 1000,
        completed,
        achievedRate: round(completed / Math.max(0.001, (lastDoneAt - scheduledAt(firstMeasured)) / 1000)),
        errors: errors.count,
        errorKinds: errors.kinds,
        validated,
        latency: latency.summary(),
        serviceTime: serviceTime.summary(),
        sendLag: sendLag.summary(),
        generatorCores: coresSince(cpu, start),
      });
    };
    // Bounded: whatever the server does, the run ends a few seconds after its last scheduled request.
    const deadline = setTimeout(finish, job.warmupMs + job.durationMs + drainMs);

    const send = (i: number, sender: Sender): void => {
      stampUid(sender.request.body, review.uidDigitsAt, i);
      const capture = i % validateEvery === 0;
      const sentAt = performance.now();
      outstanding++;
      sender.connection.post(sender.request.bytes, capture, (outcome, answer) => {
        const doneAt = performance.now();
        outstanding--;
        let result = outcome;
        if (result === undefined && capture) {
          result = check(answer, sender.request.body, review.uidAt, "patch");
          validated++;
        }
        if (i >= firstMeasured) {
          if (result === undefined) {
            latency.record(doneAt - scheduledAt(i));
            serviceTime.record(doneAt - sentAt);
            sendLag.record(sentAt - scheduledAt(i));
            completed++;
            lastDoneAt = doneAt;
          } else errors.add(result);
        }
        free.push(sender);
        pump();
      });
    };

    function pump(): void {
      const now = performance.now();
      while (due < total && scheduledAt(due) <= now) due++;
      while (sent < due) {
        const sender = free.pop();
        if (sender === undefined) break;
        send(sent++, sender);
      }
      if (due >= total && sent === total && outstanding === 0) finish();
    }

    const pacer = startPacer(start, interval, total, pump);
  });
}

/** Posts one request and waits for the answer. */
function postOnce(
  connection: HttpConnection,
  request: PostRequest,
): Promise<{ outcome: Outcome; answer: Buffer | undefined }> {
  return new Promise((resolve) =>
    connection.post(request.bytes, true, (outcome, answer) => resolve({ outcome, answer })),
  );
}

/** One review at a time, one per ServiceAccount name, each checked in full. */
async function sequential(job: Extract<LoadJob, { kind: "sequential" }>): Promise<LoadResult> {
  const latency = new LatencyRecorder(job.serviceAccounts.length);
  const errors = new Tally();
  const tls = https(job.target);
  const connection = new HttpConnection(tls);
  // A first review, unmeasured, opens the connection: the cases compare lookups, not TLS handshakes.
  await postOnce(connection, postRequest(tls, mutatePath, template(job.size).body));
  const cpu = process.cpuUsage();
  const start = performance.now();
  let requestBytes = 0;
  for (const [n, serviceAccount] of job.serviceAccounts.entries()) {
    const review = template(job.size, serviceAccount);
    const request = postRequest(tls, mutatePath, review.body);
    requestBytes = review.body.length;
    stampUid(request.body, review.uidDigitsAt, n + 1);
    const sentAt = performance.now();
    const { outcome, answer } = await postOnce(connection, request);
    const doneAt = performance.now();
    const result = outcome ?? check(answer, request.body, review.uidAt, job.expect);
    if (result === undefined) latency.record(doneAt - sentAt);
    else errors.add(result);
  }
  connection.close();
  const seconds = (performance.now() - start) / 1000;
  return {
    kind: job.kind,
    size: job.size,
    requestBytes,
    seconds: round(seconds),
    completed: latency.count,
    achievedRate: round(latency.count / seconds),
    errors: errors.count,
    errorKinds: errors.kinds,
    validated: job.serviceAccounts.length,
    latency: latency.summary(),
    generatorCores: coresSince(cpu, start),
  };
}

/**
 * `reviews` reviews at once: every connection posts, and posts again as soon as its answer arrives, until all
 * are sent. Resolves with each review's latency from the burst's start; failures are added to `errors`.
 */
function burstOnce(
  all: readonly Sender[],
  review: Template,
  reviews: number,
  firstUid: number,
  errors: Tally,
): Promise<{ latencies: LatencyRecorder; validated: number; allAnsweredMs: number }> {
  const latencies = new LatencyRecorder(reviews);
  let next = 0;
  let answered = 0;
  let validated = 0;
  return new Promise((resolve) => {
    const burstStart = performance.now();
    const sendFrom = (sender: Sender): void => {
      if (next === reviews) return;
      const n = next++;
      stampUid(sender.request.body, review.uidDigitsAt, firstUid + n);
      const capture = n % 100 === 0;
      sender.connection.post(sender.request.bytes, capture, (outcome, answer) => {
        const doneAt = performance.now();
        let result = outcome;
        if (result === undefined && capture) {
          result = check(answer, sender.request.body, review.uidAt, "patch");
          validated++;
        }
        if (result === undefined) latencies.record(doneAt - burstStart);
        else errors.add(result);
        if (++answered === reviews) {
          resolve({ latencies, validated, allAnsweredMs: round(doneAt - burstStart) });
        } else sendFrom(sender);
      });
    };
    for (const sender of all) sendFrom(sender);
  });
}

/** Connections opened and used once, then `job.bursts` times: a pause of `job.idleMs`, and a burst. */
async function bursts(job: Extract<LoadJob, { kind: "burst" }>): Promise<LoadResult> {
  const review = template(job.size);
  const all = senders(job.target, review.body, job.sockets);
  // The handshakes and the first request of each connection are not part of any burst.
  const opened = await Promise.all(all.map(({ connection, request }) => postOnce(connection, request)));
  const failedToOpen = opened.filter(({ outcome }) => outcome !== undefined).length;
  if (failedToOpen > 0)
    throw new Error(`${failedToOpen} of ${job.sockets} connections failed their first review`);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const everyLatency = new LatencyRecorder(job.reviews * job.bursts);
  const errors = new Tally();
  const summaries: BurstSummary[] = [];
  let validated = 0;
  for (let burst = 0; burst < job.bursts; burst++) {
    await sleep(job.idleMs);
    const errorsBefore = errors.count;
    const done = await burstOnce(all, review, job.reviews, (burst + 1) * job.reviews, errors);
    validated += done.validated;
    summaries.push({
      allAnsweredMs: done.allAnsweredMs,
      errors: errors.count - errorsBefore,
      latency: done.latencies.summary(),
    });
    for (const ms of done.latencies.values()) everyLatency.record(ms);
  }
  for (const { connection } of all) connection.close();
  const completed = everyLatency.count;
  const burstSeconds = summaries.reduce((sum, s) => sum + s.allAnsweredMs, 0) / 1000;
  return {
    kind: job.kind,
    size: job.size,
    requestBytes: review.body.length,
    seconds: round(burstSeconds),
    completed,
    achievedRate: round(completed / Math.max(0.001, burstSeconds)),
    errors: errors.count,
    errorKinds: errors.kinds,
    validated,
    latency: everyLatency.summary(),
    generatorCores: coresSince(cpu, start),
    bursts: summaries,
  };
}

function run(job: LoadJob): Promise<LoadResult> {
  switch (job.kind) {
    case "closed":
      return closedLoop(job);
    case "open":
      return openLoop(job);
    case "sequential":
      return sequential(job);
    case "burst":
      return bursts(job);
  }
}

const job = JSON.parse(process.argv[2] ?? "null") as LoadJob | null;
if (job === null) {
  process.stderr.write("load.ts: pass a LoadJob as JSON in the first argument\n");
  process.exitCode = 2;
} else {
  say({ event: "result", result: await run(job) });
}
