// The load generator: its own process, posting AdmissionReviews to the webhook over keep-alive HTTPS.
// Usage (run.ts does this): node --import tsx test/bench/load.ts '<LoadJob as JSON>' → one LoadResult JSON line.

import { readFileSync } from "node:fs";
import { Agent, type RequestOptions, request } from "node:https";
import { performance } from "node:perf_hooks";
import { LatencyRecorder, round } from "./latency.js";
import type { LoadJob, LoadMessage, LoadResult, LoadTarget, PatchExpectation } from "./load-protocol.js";
import { startPacer } from "./pacer.js";
import { admissionReview, type ReviewSize, reviewTemplate, stampUid, uidPlaceholder } from "./reviews.js";

/** How long after its last send a run waits for answers; those still missing count as "unfinished". */
const drainMs = 10_000;
/** Every this many requests, one answer is parsed and checked in full. */
const validateEvery = 1024;

type Outcome = string | undefined;

interface Connection {
  readonly agent: Agent;
  readonly options: RequestOptions;
}

function connection(target: LoadTarget, bodyBytes: number, sockets: number): Connection {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: sockets,
    maxFreeSockets: sockets,
    ca: readFileSync(target.caPath, "utf8"),
  });
  const options: RequestOptions = {
    agent,
    host: target.host,
    port: target.port,
    path: "/mutate?timeout=10s",
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "content-length": bodyBytes },
  };
  return { agent, options };
}

/** Posts one body; `done` gets an error kind (or undefined) and, when `capture`, the answer's bytes. */
function post(
  connection: Connection,
  body: Buffer,
  capture: boolean,
  done: (outcome: Outcome, answer: Buffer | undefined) => void,
): void {
  let finished = false;
  const finish = (outcome: Outcome, answer?: Buffer): void => {
    if (finished) return;
    finished = true;
    done(outcome, answer);
  };
  const req = request(connection.options, (res) => {
    res.once("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    if (res.statusCode !== 200) {
      res.resume();
      res.once("end", () => finish(`status ${res.statusCode}`));
    } else if (!capture) {
      res.resume();
      res.once("end", () => finish(undefined));
    } else {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => finish(undefined, Buffer.concat(chunks)));
    }
  });
  // No timer per request (it would cost the generator): the run's deadline bounds every request.
  req.once("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  req.end(body);
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
  const link = connection(job.target, review.body.length, job.sockets);
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
      link.agent.destroy();
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

    const sendFrom = (body: Buffer): void => {
      const sentAt = performance.now();
      if (sentAt >= measureTo) {
        active--;
        if (active === 0) finish();
        return;
      }
      const n = counter++;
      stampUid(body, review.uidDigitsAt, n);
      const capture = n % validateEvery === 0;
      post(link, body, capture, (outcome, answer) => {
        const doneAt = performance.now();
        let result = outcome;
        if (result === undefined && capture) {
          result = check(answer, body, review.uidAt, "patch");
          validated++;
        }
        if (sentAt >= measureFrom && doneAt <= measureTo) {
          if (result === undefined) {
            latency.record(doneAt - sentAt);
            completed++;
          } else errors.add(result);
        }
        sendFrom(body);
      });
    };
    for (let i = 0; i < job.sockets; i++) sendFrom(Buffer.from(review.body));
  });
}

/**
 * Requests scheduled every 1/rate seconds; each waits for a free socket, and its latency runs from its
 * scheduled time, so a stalled server is charged for every request it delayed (no coordinated omission).
 */
function openLoop(job: Extract<LoadJob, { kind: "open" }>): Promise<LoadResult> {
  const review = template(job.size);
  const link = connection(job.target, review.body.length, job.sockets);
  const total = Math.round((job.ratePerSecond * (job.warmupMs + job.durationMs)) / 1000);
  const firstMeasured = Math.round((job.ratePerSecond * job.warmupMs) / 1000);
  const expected = total - firstMeasured;
  const latency = new LatencyRecorder(expected);
  const serviceTime = new LatencyRecorder(expected);
  const sendLag = new LatencyRecorder(expected);
  const errors = new Tally();
  const free: Buffer[] = [];
  for (let i = 0; i < job.sockets; i++) free.push(Buffer.from(review.body));
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
      link.agent.destroy();
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

    const send = (i: number, body: Buffer): void => {
      stampUid(body, review.uidDigitsAt, i);
      const capture = i % validateEvery === 0;
      const sentAt = performance.now();
      outstanding++;
      post(link, body, capture, (outcome, answer) => {
        const doneAt = performance.now();
        outstanding--;
        let result = outcome;
        if (result === undefined && capture) {
          result = check(answer, body, review.uidAt, "patch");
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
        free.push(body);
        pump();
      });
    };

    function pump(): void {
      const now = performance.now();
      while (due < total && scheduledAt(due) <= now) due++;
      while (sent < due) {
        const body = free.pop();
        if (body === undefined) break;
        send(sent++, body);
      }
      if (due >= total && sent === total && outstanding === 0) finish();
    }

    const pacer = startPacer(start, interval, total, pump);
  });
}

/** Posts one body of any length and waits for the answer. */
function postOnce(link: Connection, body: Buffer): Promise<{ outcome: Outcome; answer: Buffer | undefined }> {
  const headers = { ...link.options.headers, "content-length": body.length };
  const request = { agent: link.agent, options: { ...link.options, headers } };
  return new Promise((resolve) =>
    post(request, body, true, (outcome, answer) => resolve({ outcome, answer })),
  );
}

/** One review at a time, one per ServiceAccount name, each checked in full. */
async function sequential(job: Extract<LoadJob, { kind: "sequential" }>): Promise<LoadResult> {
  const latency = new LatencyRecorder(job.serviceAccounts.length);
  const errors = new Tally();
  const link = connection(job.target, 0, 1);
  // A first review, unmeasured, opens the connection: the cases compare lookups, not TLS handshakes.
  await postOnce(link, template(job.size).body);
  const cpu = process.cpuUsage();
  const start = performance.now();
  let requestBytes = 0;
  for (const [n, serviceAccount] of job.serviceAccounts.entries()) {
    const review = template(job.size, serviceAccount);
    requestBytes = review.body.length;
    stampUid(review.body, review.uidDigitsAt, n + 1);
    const sentAt = performance.now();
    const { outcome, answer } = await postOnce(link, review.body);
    const doneAt = performance.now();
    const result = outcome ?? check(answer, review.body, review.uidAt, job.expect);
    if (result === undefined) latency.record(doneAt - sentAt);
    else errors.add(result);
  }
  link.agent.destroy();
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

function run(job: LoadJob): Promise<LoadResult> {
  switch (job.kind) {
    case "closed":
      return closedLoop(job);
    case "open":
      return openLoop(job);
    case "sequential":
      return sequential(job);
  }
}

const job = JSON.parse(process.argv[2] ?? "null") as LoadJob | null;
if (job === null) {
  process.stderr.write("load.ts: pass a LoadJob as JSON in the first argument\n");
  process.exitCode = 2;
} else {
  say({ event: "result", result: await run(job) });
}
