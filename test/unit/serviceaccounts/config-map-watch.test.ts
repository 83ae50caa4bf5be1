import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ServiceAccountApiError,
  type WatchEvent,
  type WatchRequest,
} from "../../../src/serviceaccounts/api.js";
import { configMapEntryFor } from "../../../src/serviceaccounts/config-map.js";
import { ConfigMapEntriesHolder } from "../../../src/serviceaccounts/config-map-source.js";
import {
  type ConfigMapApi,
  ConfigMapWatch,
  type RawConfigMap,
} from "../../../src/serviceaccounts/config-map-watch.js";
import { FakeClock, until } from "./fake-clock.js";

const role = "arn:aws:iam::123456789012:role/dns-controller.kube-system.sa.minimal.example.com";
const configMap = (config: unknown, resourceVersion = "1"): RawConfigMap => ({
  metadata: { namespace: "kube-system", name: "pod-identity-webhook", resourceVersion },
  data: { config: JSON.stringify(config) },
});
const kops = (roleArn: string) => ({
  "kube-system/dns-controller": {
    RoleARN: roleArn,
    Audience: "amazonaws.com",
    UseRegionalSTS: true,
    TokenExpiration: 86400,
  },
});

interface OpenWatch {
  readonly request: WatchRequest;
  send(event: WatchEvent<RawConfigMap>): void;
  end(error?: Error): void;
}

function harness() {
  const lists: (readonly RawConfigMap[] | Error)[] = [];
  const watches: OpenWatch[] = [];
  let listCalls = 0;
  const api: ConfigMapApi = {
    async list() {
      listCalls++;
      const next = lists.shift() ?? [];
      if (next instanceof Error) throw next;
      return { items: next, resourceVersion: `list-${listCalls}` };
    },
    async watch(request, onEvent, onDone) {
      watches.push({ request, send: onEvent, end: onDone });
      return { abort() {} };
    },
  };
  const logs: string[] = [];
  const log = (level: string) => (_fields: object, message: string) => logs.push(`${level}: ${message}`);
  const logger = { debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") };
  const outcomes: string[] = [];
  const holder = new ConfigMapEntriesHolder({ logger, onOutcome: (outcome) => outcomes.push(outcome) });
  const clock = new FakeClock();
  const watch = new ConfigMapWatch("kube-system", { api, holder, logger, clock, random: () => 0.5 });
  const roleNow = () => configMapEntryFor(holder.entries, "kube-system", "dns-controller")?.roleArn;
  return { lists, watches, holder, clock, watch, logs, outcomes, roleNow, listCalls: () => listCalls };
}

/** Waits until the only sleep left is the retry delay (the watch's deadline sleep is gone), then lets it pass. */
async function passRetry(clock: FakeClock): Promise<void> {
  await until(() => clock.pending().length === 1 && (clock.pending()[0] ?? 0) <= 30_000, "the retry sleeps");
  clock.advance(clock.pending()[0] ?? 0);
}

describe("ConfigMapWatch", () => {
  it("applies the listed ConfigMap, then each change the watch streams, and a deletion clears it", async () => {
    const h = harness();
    h.lists.push([configMap(kops(role))]);
    await h.watch.start();
    assert.equal(h.roleNow(), role);
    await until(() => h.watches.length === 1, "the watch opens");
    assert.equal(h.watches[0]?.request.resourceVersion, "list-1");
    h.watches[0]?.send({
      type: "MODIFIED",
      object: configMap(kops("arn:aws:iam::123456789012:role/other"), "2"),
    });
    assert.equal(h.roleNow(), "arn:aws:iam::123456789012:role/other");
    h.watches[0]?.send({ type: "MODIFIED", object: { ...configMap({}), data: { config: "{not json" } } });
    assert.equal(h.roleNow(), "arn:aws:iam::123456789012:role/other");
    h.watches[0]?.send({ type: "DELETED", object: configMap({}, "4") });
    assert.equal(h.roleNow(), undefined);
    assert.deepEqual(h.outcomes, ["applied", "applied", "refused", "deleted"]);
    await h.watch.stop();
  });

  it("starts with no entries when the ConfigMap does not exist, and takes it when it is created", async () => {
    const h = harness();
    await h.watch.start();
    assert.equal(h.roleNow(), undefined);
    await until(() => h.watches.length === 1, "the watch opens");
    h.watches[0]?.send({ type: "ADDED", object: configMap(kops(role)) });
    assert.equal(h.roleNow(), role);
    await h.watch.stop();
  });

  it("resumes a watch the server closed from the last resourceVersion, and lists again after a 410", async () => {
    const h = harness();
    h.lists.push([configMap(kops(role))], [configMap(kops("arn:aws:iam::123456789012:role/relisted"), "9")]);
    await h.watch.start();
    await until(() => h.watches.length === 1, "the watch opens");
    h.watches[0]?.send({ type: "BOOKMARK", resourceVersion: "5" });
    h.watches[0]?.end();
    await passRetry(h.clock);
    await until(() => h.watches.length === 2, "the watch resumes");
    assert.equal(h.watches[1]?.request.resourceVersion, "5");
    assert.equal(h.listCalls(), 1);
    h.watches[1]?.send({ type: "ERROR", code: 410, message: "too old resource version" });
    await passRetry(h.clock);
    await until(() => h.watches.length === 3, "the watch reopens after listing");
    assert.equal(h.listCalls(), 2);
    assert.equal(h.roleNow(), "arn:aws:iam::123456789012:role/relisted");
    await h.watch.stop();
  });

  it("refuses to start when RBAC forbids the list, naming the Role it needs", async () => {
    const h = harness();
    h.lists.push(
      new ServiceAccountApiError("list ConfigMap kube-system/pod-identity-webhook: 403 Forbidden", 403),
    );
    await assert.rejects(h.watch.start(), {
      message:
        "cannot list ConfigMap kube-system/pod-identity-webhook: list ConfigMap kube-system/pod-identity-webhook: 403 Forbidden; --watch-config-map needs list and watch on configmaps named pod-identity-webhook in namespace kube-system (a Role with resourceNames)",
    });
    await h.watch.stop();
  });
});
