import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ServiceAccountApiError } from "../../../src/serviceaccounts/api.js";
import { ServiceAccountCache, type ServiceAccountCacheOptions } from "../../../src/serviceaccounts/cache.js";
import type { ServiceAccountEvents } from "../../../src/serviceaccounts/events.js";
import { FakeClock, until } from "./fake-clock.js";
import { FakeServiceAccountApi, serviceAccount } from "./fake-service-account-api.js";

const role = "eks.amazonaws.com/role-arn";
const keepAnnotation = (key: string) => key.startsWith("eks.amazonaws.com/");

function harness(options: Partial<ServiceAccountCacheOptions> = {}) {
  const api = new FakeServiceAccountApi();
  const clock = new FakeClock();
  const seen = {
    misses: 0,
    lookups: [] as string[],
    restarts: [] as string[],
    negativeHits: 0,
    rateLimited: 0,
    logs: [] as string[],
  };
  const events: ServiceAccountEvents = {
    cacheMiss: () => seen.misses++,
    liveLookup: (outcome) => seen.lookups.push(outcome),
    negativeCacheHit: () => seen.negativeHits++,
    lookupRateLimited: () => seen.rateLimited++,
    watchRestart: (reason) => seen.restarts.push(reason),
  };
  const log = (level: string) => (_fields: object, message: string) => seen.logs.push(`${level}: ${message}`);
  const logger = { debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") };
  // random() = 0.5: retry delays are 3/4 of their ceiling, watches ask for 450s (300s × 1.5).
  const cache = new ServiceAccountCache(
    { api, keepAnnotation, logger, events, clock, random: () => 0.5 },
    { lookupTimeoutMs: 2000, pageSize: 2, retryBaseMs: 1000, retryMaxMs: 4000, ...options },
  );
  return { api, clock, seen, cache };
}

async function started(h: ReturnType<typeof harness>): Promise<void> {
  await h.cache.start();
  await until(() => h.api.watches.length > 0, "the watch opens");
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("ServiceAccountCache: list and watch", () => {
  it("lists every page before it is ready, then watches from the list's resourceVersion", async () => {
    const h = harness();
    h.api.pages = [
      [serviceAccount("a", "one"), serviceAccount("a", "two")],
      [serviceAccount("b", "three", { [role]: "arn:aws:iam::111122223333:role/three" })],
    ];
    assert.equal(h.cache.isReady(), false);
    await started(h);
    assert.equal(h.cache.isReady(), true);
    assert.deepEqual(h.api.listRequests, [{ limit: 2 }, { limit: 2, continue: "1" }]);
    assert.equal(h.cache.size(), 3);
    assert.deepEqual(await h.cache.get("b", "three"), {
      namespace: "b",
      name: "three",
      annotations: { [role]: "arn:aws:iam::111122223333:role/three" },
    });
    assert.deepEqual(h.api.currentWatch.request, { resourceVersion: "100", timeoutSeconds: 450 });
    assert.deepEqual(h.api.getRequests, []);
  });

  it("keeps only the relevant annotations and shares one frozen empty object among ServiceAccounts without them", async () => {
    const h = harness();
    h.api.pages = [
      [
        serviceAccount("a", "annotated", {
          [role]: "arn",
          "kubectl.kubernetes.io/last-applied-configuration": "{}",
        }),
        serviceAccount("a", "plain", { "example.com/owner": "team" }),
        serviceAccount("b", "bare"),
      ],
    ];
    await started(h);
    const [annotated, plain, bare] = await Promise.all([
      h.cache.get("a", "annotated"),
      h.cache.get("a", "plain"),
      h.cache.get("b", "bare"),
    ]);
    assert.deepEqual(annotated?.annotations, { [role]: "arn" });
    assert.deepEqual(plain?.annotations, {});
    assert.equal(plain?.annotations, bare?.annotations);
    assert.ok(
      Object.isFrozen(annotated) &&
        Object.isFrozen(annotated?.annotations) &&
        Object.isFrozen(bare?.annotations),
    );
  });

  it("applies ADDED, MODIFIED and DELETED events and resumes from the last resourceVersion, bookmarks included", async () => {
    const h = harness();
    h.api.pages = [[serviceAccount("a", "old")]];
    await started(h);
    const watch = h.api.currentWatch;
    watch.send({ type: "ADDED", object: serviceAccount("a", "new", { [role]: "arn:one" }, "101") });
    watch.send({ type: "MODIFIED", object: serviceAccount("a", "new", { [role]: "arn:two" }, "102") });
    watch.send({ type: "DELETED", object: serviceAccount("a", "old", {}, "103") });
    assert.deepEqual((await h.cache.get("a", "new"))?.annotations, { [role]: "arn:two" });
    assert.equal(h.cache.size(), 1);
    assert.deepEqual(h.api.getRequests, []);

    watch.send({ type: "BOOKMARK", resourceVersion: "150" });
    watch.end();
    await until(() => h.clock.pending().length === 1, "the retry waits");
    h.clock.advance(750);
    await until(() => h.api.watches.length === 2, "the watch resumes");
    assert.equal(h.api.currentWatch.request.resourceVersion, "150");
    assert.deepEqual(h.seen.restarts, ["closed"]);
  });

  const expiries = [
    {
      how: "an ERROR event with code 410",
      expire: (api: FakeServiceAccountApi) =>
        api.currentWatch.send({ type: "ERROR", code: 410, message: "too old resource version: 100 (120)" }),
    },
    {
      how: "HTTP 410 Gone",
      expire: (api: FakeServiceAccountApi) =>
        api.currentWatch.end(new ServiceAccountApiError("watch ServiceAccounts: HTTP 410", 410)),
    },
  ];
  for (const { how, expire } of expiries) {
    it(`lists everything again after ${how}, dropping what was deleted meanwhile`, async () => {
      const h = harness();
      h.api.pages = [[serviceAccount("a", "deleted-meanwhile"), serviceAccount("a", "kept")]];
      await started(h);
      h.api.pages = [[serviceAccount("a", "kept"), serviceAccount("a", "created-meanwhile")]];
      h.api.resourceVersion = "200";
      expire(h.api);
      await until(() => h.clock.pending().length === 1, "the relist waits");
      assert.deepEqual(h.clock.pending(), [750]);
      assert.equal(h.cache.size(), 2, "the old list keeps answering until the new one is complete");
      h.clock.advance(750);
      await until(() => h.api.watches.length === 2, "the watch reopens");
      assert.equal(h.api.listRequests.length, 2);
      assert.equal(h.api.currentWatch.request.resourceVersion, "200");
      assert.equal(await h.cache.get("a", "created-meanwhile").then((r) => r?.name), "created-meanwhile");
      assert.equal(h.cache.size(), 2);
      assert.deepEqual(h.seen.restarts, ["expired"]);
      assert.equal(h.api.watches[0]?.aborted, true);
    });
  }

  it("reconnects a failing watch with jittered exponential backoff, capped, and resets it after a healthy watch", async () => {
    const h = harness();
    await started(h);
    const delays: number[][] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      h.api.currentWatch.end(new Error("socket hang up"));
      await until(() => h.clock.pending().length === 1, "the retry waits");
      delays.push(h.clock.pending());
      const opened = h.api.watches.length;
      h.clock.advance(h.clock.pending()[0] ?? 0);
      await until(() => h.api.watches.length === opened + 1, "the watch reopens");
    }
    assert.deepEqual(delays, [[750], [1500], [3000], [3000]]);

    h.clock.advance(60_000);
    h.api.currentWatch.end();
    await until(() => h.clock.pending().length === 1, "the retry waits");
    assert.deepEqual(h.clock.pending(), [750]);
    assert.deepEqual(h.seen.restarts, ["error", "error", "error", "error", "closed"]);
    assert.equal(h.api.listRequests.length, 1, "a dropped watch resumes without listing again");
  });

  it("keeps answering from the cache while the watch is down", async () => {
    const h = harness();
    h.api.pages = [[serviceAccount("a", "app", { [role]: "arn" })]];
    await started(h);
    h.api.currentWatch.end(new ServiceAccountApiError("watch ServiceAccounts: HTTP 503", 503));
    await until(() => h.clock.pending().length === 1, "the retry waits");
    assert.deepEqual((await h.cache.get("a", "app"))?.annotations, { [role]: "arn" });
    assert.deepEqual(h.api.getRequests, []);
  });

  it("restarts a watch still open after its timeout and grace (a half-open connection)", async () => {
    const h = harness({ watchGraceMs: 30_000 });
    await started(h);
    h.clock.advance(450_000 + 30_000);
    await until(() => h.clock.pending().length === 1, "the retry waits");
    assert.equal(h.api.watches[0]?.aborted, true);
    assert.deepEqual(h.seen.restarts, ["deadline"]);
  });

  it("retries a failed first list with backoff and is ready only once it succeeds", async () => {
    const h = harness();
    h.api.listFailures.push(
      new ServiceAccountApiError("list ServiceAccounts in all namespaces: connect ECONNREFUSED", undefined),
    );
    const start = h.cache.start();
    await until(() => h.clock.pending().includes(750), "the retry waits");
    assert.equal(h.cache.isReady(), false);
    assert.deepEqual(h.clock.pending(), [750]);
    h.clock.advance(750);
    await start;
    assert.equal(h.cache.isReady(), true);
  });

  it("rejects start when listing is forbidden, saying which permissions are missing", async () => {
    const h = harness();
    h.api.listFailures.push(
      new ServiceAccountApiError("list ServiceAccounts in all namespaces: HTTP 403", 403),
    );
    await assert.rejects(h.cache.start(), {
      message:
        "cannot list ServiceAccounts: list ServiceAccounts in all namespaces: HTTP 403; the webhook's ServiceAccount needs get, list and watch on serviceaccounts in all namespaces (a ClusterRole)",
    });
    assert.equal(h.cache.isReady(), false);
  });

  it("stops: aborts the watch, ends the retry loop, and rejects a start still waiting for its first list", async () => {
    const h = harness();
    await started(h);
    await h.cache.stop();
    assert.equal(h.api.currentWatch.aborted, true);
    assert.deepEqual(h.clock.pending(), []);
    assert.deepEqual(h.seen.restarts, []);

    const never = harness();
    never.api.listFailures.push(new Error("connect ECONNREFUSED"));
    const start = never.cache.start();
    await until(() => never.clock.pending().includes(750), "the retry waits");
    await never.cache.stop();
    await assert.rejects(start, {
      message: "the ServiceAccount cache was stopped before its first list completed",
    });
  });

  it("stops even while a list page gets no answer", async () => {
    const h = harness();
    h.api.list = () => new Promise(() => {});
    const start = h.cache.start();
    await until(() => h.clock.pending().includes(60_000), "the page's deadline is set");
    await h.cache.stop();
    await assert.rejects(start, {
      message: "the ServiceAccount cache was stopped before its first list completed",
    });
    assert.deepEqual(h.clock.pending(), []);
  });
});

describe("ServiceAccountCache: live lookup on a miss", () => {
  it("makes one GET for 50 concurrent misses of the same ServiceAccount and caches what it finds", async () => {
    const h = harness();
    await started(h);
    const answer = deferred<ReturnType<typeof serviceAccount>>();
    h.api.answerGet = () => answer.promise;
    const gets = Array.from({ length: 50 }, () => h.cache.get("helm", "fresh"));
    answer.resolve(serviceAccount("helm", "fresh", { [role]: "arn:fresh", "helm.sh/hook": "x" }));
    const results = await Promise.all(gets);
    assert.deepEqual(h.api.getRequests, ["helm/fresh"]);
    for (const result of results)
      assert.deepEqual(result, { namespace: "helm", name: "fresh", annotations: { [role]: "arn:fresh" } });
    assert.deepEqual(await h.cache.get("helm", "fresh"), results[0]);
    assert.deepEqual(h.api.getRequests, ["helm/fresh"], "the second get is a cache hit");
    assert.equal(h.seen.misses, 50);
    assert.deepEqual(h.seen.lookups, ["found"]);
  });

  it("answers undefined on 404 and asks again once the negative cache's TTL is over", async () => {
    const h = harness({ negativeCacheTtlMs: 5000 });
    await started(h);
    assert.equal(await h.cache.get("a", "missing"), undefined);
    h.clock.advance(4999);
    assert.equal(await h.cache.get("a", "missing"), undefined);
    assert.deepEqual(h.api.getRequests, ["a/missing"], "within the TTL the 404 is remembered");
    h.clock.advance(1);
    assert.equal(await h.cache.get("a", "missing"), undefined);
    assert.deepEqual(h.api.getRequests, ["a/missing", "a/missing"]);
    assert.deepEqual(h.seen.lookups, ["not-found", "not-found"]);
    assert.equal(h.cache.size(), 0);
  });

  it("asks on every miss when the negative cache is off (TTL 0)", async () => {
    const h = harness({ negativeCacheTtlMs: 0 });
    await started(h);
    for (let i = 0; i < 3; i++) assert.equal(await h.cache.get("a", "missing"), undefined);
    assert.deepEqual(h.api.getRequests, ["a/missing", "a/missing", "a/missing"]);
    assert.equal(h.seen.negativeHits, 0);
  });

  it("rejects after the lookup timeout with a message saying so, and aborts the GET", async () => {
    const h = harness();
    await started(h);
    let signal: AbortSignal | undefined;
    h.api.answerGet = (_namespace, _name, requestSignal) => {
      signal = requestSignal;
      return new Promise(() => {});
    };
    const get = h.cache.get("slow", "app");
    await until(() => h.clock.pending().includes(2000), "the lookup's deadline is set");
    h.clock.advance(2000);
    await assert.rejects(get, {
      name: "LiveLookupError",
      outcome: "timeout",
      message: "live lookup of ServiceAccount slow/app timed out after 2000ms",
    });
    assert.equal(signal?.aborted, true);
    assert.deepEqual(h.seen.lookups, ["timeout"]);
  });

  it("rejects when the GET fails, naming the ServiceAccount and the API server's answer", async () => {
    const h = harness();
    await started(h);
    h.api.answerGet = async () => {
      throw new ServiceAccountApiError(
        "get ServiceAccount a/app: HTTP 500 (etcdserver: leader changed)",
        500,
      );
    };
    await assert.rejects(h.cache.get("a", "app"), {
      outcome: "error",
      message:
        "live lookup of ServiceAccount a/app failed: get ServiceAccount a/app: HTTP 500 (etcdserver: leader changed)",
    });
    assert.deepEqual(h.seen.lookups, ["error"]);
  });

  it("prefers a watch event that arrives while the GET is out", async () => {
    const h = harness();
    await started(h);
    const answer = deferred<ReturnType<typeof serviceAccount>>();
    h.api.answerGet = () => answer.promise;
    const get = h.cache.get("a", "app");
    h.api.currentWatch.send({ type: "DELETED", object: serviceAccount("a", "app", {}, "101") });
    answer.resolve(serviceAccount("a", "app", { [role]: "arn:stale" }));
    assert.equal(await get, undefined);
    assert.equal(h.cache.size(), 0, "the stale GET is not cached");
  });

  it("looks up live before the first list is done", async () => {
    const h = harness();
    h.api.answerGet = async () => serviceAccount("a", "early");
    assert.deepEqual(await h.cache.get("a", "early"), { namespace: "a", name: "early", annotations: {} });
  });
});

describe("ServiceAccountCache: misses that cannot flood the API server", () => {
  it("makes one GET for a missing name asked 200 times within the TTL", async () => {
    const h = harness({ negativeCacheTtlMs: 5000 });
    await started(h);
    for (let i = 0; i < 200; i++) {
      assert.equal(await h.cache.get("a", "missing"), undefined);
      h.clock.advance(20);
    }
    assert.deepEqual(h.api.getRequests, ["a/missing"]);
    assert.equal(h.seen.misses, 1);
    assert.equal(h.seen.negativeHits, 199);
    assert.deepEqual(h.seen.lookups, ["not-found"]);
  });

  it("makes at most the rate limit's worth of GETs for 5,000 random names, refusing the rest like a timeout", async () => {
    const h = harness({ lookupRatePerSecond: 20, lookupBurstSeconds: 2 });
    await started(h);
    const results: PromiseSettledResult<unknown>[] = [];
    // 5,000 names over 10 fake seconds: the bucket's 40 at the start, then 20 a second.
    for (let second = 0; second < 10; second++) {
      const batch = Array.from({ length: 500 }, () => h.cache.get("a", `random-${crypto.randomUUID()}`));
      results.push(...(await Promise.allSettled(batch)));
      h.clock.advance(1000);
    }
    assert.equal(results.length, 5000);
    assert.equal(h.api.getRequests.length, 40 + 9 * 20);
    const refused = results.filter((result) => result.status === "rejected");
    assert.equal(refused.length, 5000 - h.api.getRequests.length);
    assert.equal(h.seen.rateLimited, refused.length);
    assert.equal(h.seen.lookups.length, h.api.getRequests.length, "a refused miss makes no GET");
    const [first] = refused;
    assert.ok(first?.status === "rejected");
    assert.equal(first.reason.name, "LiveLookupError");
    assert.equal(first.reason.outcome, "rate-limited");
    assert.match(
      first.reason.message,
      /^live lookup refused: more cache misses than --lookup-rate allows \(20 GETs per second, bursts of 40\)$/,
    );
  });

  it("warns once when the rate limit starts refusing and says when lookups pass again", async () => {
    const h = harness({ lookupRatePerSecond: 1, lookupBurstSeconds: 1 });
    await started(h);
    await Promise.allSettled(Array.from({ length: 50 }, (_, i) => h.cache.get("a", `name-${i}`)));
    assert.deepEqual(
      h.seen.logs.filter((line) => !line.startsWith("info: listed")),
      [
        "warn: live ServiceAccount lookups are over their rate limit (--lookup-rate); misses are admitted without credentials until it refills",
      ],
    );
    h.clock.advance(1000);
    assert.equal(await h.cache.get("a", "after"), undefined);
    assert.equal(h.seen.logs.at(-1), "info: live ServiceAccount lookups are within their rate limit again");
    assert.equal(h.seen.rateLimited, 49);
  });

  it("shares one token among concurrent misses of one name", async () => {
    const h = harness({ lookupRatePerSecond: 1, lookupBurstSeconds: 1 });
    await started(h);
    const answer = deferred<ReturnType<typeof serviceAccount>>();
    h.api.answerGet = () => answer.promise;
    const gets = Array.from({ length: 10 }, () => h.cache.get("helm", "app"));
    answer.resolve(serviceAccount("helm", "app", { [role]: "arn:app" }));
    for (const result of await Promise.all(gets)) assert.equal(result?.annotations[role], "arn:app");
    assert.equal(h.seen.rateLimited, 0);
  });

  it("keeps the negative cache to its size bound, dropping the oldest names first", async () => {
    const h = harness({ negativeCacheMaxEntries: 3 });
    await started(h);
    for (const name of ["one", "two", "three", "four"]) await h.cache.get("a", name);
    h.api.getRequests.length = 0;
    for (const name of ["two", "three", "four", "one"]) await h.cache.get("a", name);
    assert.deepEqual(h.api.getRequests, ["a/one"], "only the evicted name is asked again");
  });
});

describe("ServiceAccountCache: the Helm race (a ServiceAccount created a moment before its pod)", () => {
  const created = () =>
    serviceAccount("helm", "app", { [role]: "arn:aws:iam::111122223333:role/app" }, "101");
  const withRole = {
    namespace: "helm",
    name: "app",
    annotations: { [role]: "arn:aws:iam::111122223333:role/app" },
  };

  it("the watch's ADDED arrives before the review: found in the cache, no GET", async () => {
    const h = harness();
    await started(h);
    h.api.currentWatch.send({ type: "ADDED", object: created() });
    assert.deepEqual(await h.cache.get("helm", "app"), withRole);
    assert.deepEqual(h.api.getRequests, []);
  });

  it("the review arrives before the watch's ADDED: the live GET finds it", async () => {
    const h = harness();
    await started(h);
    h.api.answerGet = async () => created();
    assert.deepEqual(await h.cache.get("helm", "app"), withRole);
    h.api.currentWatch.send({ type: "ADDED", object: created() });
    assert.deepEqual(await h.cache.get("helm", "app"), withRole);
    assert.deepEqual(h.api.getRequests, ["helm/app"]);
  });

  it("a GET said 404, then the ServiceAccount was created: its ADDED ends the negative entry within the TTL", async () => {
    const h = harness({ negativeCacheTtlMs: 60_000 });
    await started(h);
    assert.equal(await h.cache.get("helm", "app"), undefined);
    assert.equal(await h.cache.get("helm", "app"), undefined, "the 404 is remembered");
    h.api.currentWatch.send({ type: "ADDED", object: created() });
    assert.deepEqual(await h.cache.get("helm", "app"), withRole);
    assert.deepEqual(h.api.getRequests, ["helm/app"]);
    // The entry is gone, not just shadowed: once the ServiceAccount is deleted again, a miss asks live.
    h.api.currentWatch.send({ type: "DELETED", object: created() });
    assert.equal(await h.cache.get("helm", "app"), undefined);
    assert.deepEqual(h.api.getRequests, ["helm/app", "helm/app"]);
  });

  it("a GET said 404, then the watch lost the ADDED and a relist found the ServiceAccount: the relist wins", async () => {
    const h = harness({ negativeCacheTtlMs: 60_000 });
    await started(h);
    assert.equal(await h.cache.get("helm", "app"), undefined);
    h.api.pages = [[created()]];
    h.api.currentWatch.end(new ServiceAccountApiError("watch ServiceAccounts: HTTP 410", 410));
    await until(() => h.clock.pending().length === 1, "the relist waits");
    h.clock.advance(750);
    await until(() => h.api.watches.length === 2, "the watch reopens");
    assert.deepEqual(await h.cache.get("helm", "app"), withRole);
    assert.deepEqual(h.api.getRequests, ["helm/app"]);
  });

  it("a GET that says 404 while the ADDED arrives: the watch wins and no negative entry is made", async () => {
    const h = harness({ negativeCacheTtlMs: 60_000 });
    await started(h);
    const answer = deferred<undefined>();
    h.api.answerGet = () => answer.promise;
    const get = h.cache.get("helm", "app");
    h.api.currentWatch.send({ type: "ADDED", object: created() });
    answer.resolve(undefined);
    assert.deepEqual(await get, withRole);
    h.api.currentWatch.send({ type: "DELETED", object: created() });
    h.api.answerGet = async () => undefined;
    assert.equal(await h.cache.get("helm", "app"), undefined);
    assert.deepEqual(
      h.api.getRequests,
      ["helm/app", "helm/app"],
      "the 404 of the superseded GET was not kept",
    );
  });
});
