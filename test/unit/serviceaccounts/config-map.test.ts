import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { annotationVocabulary } from "../../../src/identity/annotations.js";
import { resolveIdentity } from "../../../src/identity/identity.js";
import { defaultEngineOptions } from "../../../src/mutation/options.js";
import type { ServiceAccountRecord } from "../../../src/mutation/pod.js";
import {
  type ConfigMapEntries,
  configMapEntryFor,
  mergeConfigMapEntry,
  parseConfigMapData,
} from "../../../src/serviceaccounts/config-map.js";
import {
  ConfigMapEntriesHolder,
  withConfigMapEntries,
} from "../../../src/serviceaccounts/config-map-source.js";
import type { ServiceAccountSource } from "../../../src/serviceaccounts/source.js";

const keys = annotationVocabulary("eks.amazonaws.com").keys;
const dnsRole = "arn:aws:iam::123456789012:role/dns-controller.kube-system.sa.minimal.example.com";
// As kOps generates it (one line, Go field names, every field set).
const kopsConfig = JSON.stringify({
  "kube-system/dns-controller": {
    RoleARN: dnsRole,
    Audience: "amazonaws.com",
    UseRegionalSTS: true,
    TokenExpiration: 86400,
  },
});

function entriesOf(config: unknown): ConfigMapEntries {
  const parsed = parseConfigMapData({ config: typeof config === "string" ? config : JSON.stringify(config) });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return parsed.entries;
}

describe("parseConfigMapData", () => {
  it("reads the ConfigMap kOps writes", () => {
    const parsed = parseConfigMapData({ config: kopsConfig });
    assert.ok(parsed.ok);
    assert.equal(parsed.count, 1);
    assert.deepEqual(parsed.unknownFields, []);
    assert.deepEqual(configMapEntryFor(parsed.entries, "kube-system", "dns-controller"), {
      roleArn: dnsRole,
      audience: "amazonaws.com",
      useRegionalSts: true,
      tokenExpiration: 86400,
    });
  });

  it("matches field names case-insensitively and leaves missing or null fields at Go's zero values", () => {
    const entries = entriesOf({ "a/b": { rolearn: "arn:r", audience: null } });
    assert.deepEqual(configMapEntryFor(entries, "a", "b"), {
      roleArn: "arn:r",
      audience: "",
      useRegionalSts: false,
      tokenExpiration: 0,
    });
  });

  it("names unknown fields and still applies the entry", () => {
    const parsed = parseConfigMapData({ config: JSON.stringify({ "a/b": { RoleARN: "arn:r", Role: "x" } }) });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.unknownFields, ["a/b.Role"]);
    assert.equal(configMapEntryFor(parsed.entries, "a", "b")?.roleArn, "arn:r");
  });

  it("reads JSON null as no entries, as the reference does", () => {
    const parsed = parseConfigMapData({ config: "null" });
    assert.ok(parsed.ok);
    assert.equal(parsed.count, 0);
  });

  const refused: readonly { name: string; data: Record<string, unknown> | undefined; error: RegExp }[] = [
    { name: "no data", data: undefined, error: /no data key "config"/ },
    { name: "no config key", data: { other: "{}" }, error: /no data key "config"/ },
    { name: "not JSON", data: { config: "{" }, error: /^data\.config is not JSON: / },
    { name: "a JSON array", data: { config: "[]" }, error: /data\.config is an array, not an object/ },
    {
      name: "a key without a slash",
      data: { config: '{"dns-controller":{}}' },
      error: /key "dns-controller" is not "namespace\/serviceaccount"/,
    },
    { name: "a key with two slashes", data: { config: '{"a/b/c":{}}' }, error: /key "a\/b\/c"/ },
    { name: "an empty namespace", data: { config: '{"/b":{}}' }, error: /key "\/b"/ },
    { name: "a null entry", data: { config: '{"a/b":null}' }, error: /"a\/b" is null, not an object/ },
    {
      name: "a quoted boolean",
      data: { config: '{"a/b":{"UseRegionalSTS":"true"}}' },
      error: /"a\/b"\.UseRegionalSTS is the string "true", not true or false/,
    },
    {
      name: "a quoted expiration",
      data: { config: '{"a/b":{"TokenExpiration":"3600"}}' },
      error: /"a\/b"\.TokenExpiration is the string "3600", not a whole number/,
    },
    {
      name: "a fractional expiration",
      data: { config: '{"a/b":{"TokenExpiration":3600.5}}' },
      error: /not a whole number/,
    },
    {
      name: "a numeric role",
      data: { config: '{"a/b":{"RoleARN":7}}' },
      error: /"a\/b"\.RoleARN is number 7, not a string/,
    },
  ];
  for (const { name, data, error } of refused)
    it(`refuses the whole ConfigMap for ${name}`, () => {
      const parsed = parseConfigMapData(data);
      assert.equal(parsed.ok, false);
      assert.match(parsed.ok ? "" : parsed.error, error);
    });
});

describe("mergeConfigMapEntry", () => {
  const record = (annotations: Record<string, string>): ServiceAccountRecord => ({
    namespace: "kube-system",
    name: "dns-controller",
    annotations,
  });
  const entries = entriesOf(kopsConfig);
  const fromEntry = {
    [keys.roleArn]: dnsRole,
    [keys.audience]: "amazonaws.com",
    [keys.stsRegionalEndpoints]: "true",
    [keys.tokenExpiration]: "86400",
  };

  const cases: readonly {
    name: string;
    record: ServiceAccountRecord | undefined;
    namespace?: string;
    entries?: ConfigMapEntries;
    expected: Record<string, string> | undefined;
  }[] = [
    { name: "gives a ServiceAccount without annotations its entry", record: record({}), expected: fromEntry },
    {
      name: "keeps a ServiceAccount's own role-arn and everything with it over the entry",
      record: record({ [keys.roleArn]: "arn:own", [keys.audience]: "own" }),
      expected: { [keys.roleArn]: "arn:own", [keys.audience]: "own" },
    },
    {
      name: "uses the entry over a blank role-arn and drops the ServiceAccount's other identity annotations",
      record: record({ [keys.roleArn]: "", [keys.audience]: "own", [keys.skipContainers]: "sidecar" }),
      expected: { ...fromEntry, [keys.skipContainers]: "sidecar" },
    },
    { name: "stands for a ServiceAccount the source does not hold", record: undefined, expected: fromEntry },
    {
      name: "leaves a ServiceAccount without an entry as it is",
      record: { namespace: "default", name: "dns-controller", annotations: {} },
      namespace: "default",
      expected: {},
    },
    {
      name: "answers undefined for an unknown ServiceAccount without an entry",
      record: undefined,
      namespace: "default",
      expected: undefined,
    },
    {
      name: "falls back to the */name entry in any namespace",
      record: undefined,
      namespace: "default",
      entries: entriesOf({ "*/dns-controller": { RoleARN: "arn:any" } }),
      expected: { [keys.roleArn]: "arn:any", [keys.stsRegionalEndpoints]: "false" },
    },
    {
      name: "prefers the namespace's own entry over the */name one",
      record: undefined,
      entries: entriesOf({
        "*/dns-controller": { RoleARN: "arn:any" },
        "kube-system/dns-controller": { RoleARN: "arn:own" },
      }),
      expected: { [keys.roleArn]: "arn:own", [keys.stsRegionalEndpoints]: "false" },
    },
    {
      name: "sets no role for an entry without RoleARN",
      record: record({}),
      entries: entriesOf({ "kube-system/dns-controller": { Audience: "a" } }),
      expected: { [keys.audience]: "a", [keys.stsRegionalEndpoints]: "false" },
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const merged = mergeConfigMapEntry(
        c.record,
        c.namespace ?? "kube-system",
        "dns-controller",
        c.entries ?? entries,
        keys,
      );
      assert.deepEqual(merged?.annotations, c.expected);
    });
});

describe("a kOps ServiceAccount through the engine's identity", () => {
  // kOps: --token-audience=amazonaws.com --sts-regional-endpoint
  const options = { ...defaultEngineOptions, defaultAudience: "amazonaws.com", stsRegionalEndpoint: true };
  it("gets the entry's role, audience, regional STS and expiration without warnings", () => {
    const merged = mergeConfigMapEntry(
      undefined,
      "kube-system",
      "dns-controller",
      entriesOf(kopsConfig),
      keys,
    );
    assert.ok(merged);
    assert.deepEqual(resolveIdentity(merged, undefined, options), {
      identity: {
        roleArn: dnsRole,
        audience: "amazonaws.com",
        expirationSeconds: 86400,
        stsRegionalEndpoints: true,
      },
      skipContainers: [],
      warnings: [],
    });
  });

  it("turns regional STS off for an entry that says UseRegionalSTS false, as the reference does", () => {
    const entries = entriesOf({ "kube-system/dns-controller": { RoleARN: dnsRole, UseRegionalSTS: false } });
    const merged = mergeConfigMapEntry(undefined, "kube-system", "dns-controller", entries, keys);
    assert.ok(merged);
    assert.equal(resolveIdentity(merged, undefined, options).identity?.stsRegionalEndpoints, false);
  });
});

describe("ConfigMapEntriesHolder", () => {
  const logged: string[] = [];
  const logger = {
    debug: () => {},
    info: (_fields: object, message: string) => logged.push(`info ${message}`),
    warn: (_fields: object, message: string) => logged.push(`warn ${message}`),
    error: () => {},
  };

  it("keeps the last good entries over a malformed update, counts each outcome, and forgets them on delete", () => {
    const outcomes: string[] = [];
    const holder = new ConfigMapEntriesHolder({ logger, onOutcome: (outcome) => outcomes.push(outcome) });
    holder.apply("eks/pod-identity-webhook", { config: kopsConfig });
    holder.apply("eks/pod-identity-webhook", { config: '{"kube-system/dns-controller": {"RoleARN": ' });
    assert.equal(configMapEntryFor(holder.entries, "kube-system", "dns-controller")?.roleArn, dnsRole);
    holder.apply("eks/pod-identity-webhook", { config: "{}" });
    assert.equal(configMapEntryFor(holder.entries, "kube-system", "dns-controller"), undefined);
    holder.apply("eks/pod-identity-webhook", { config: kopsConfig });
    holder.delete("eks/pod-identity-webhook");
    assert.equal(configMapEntryFor(holder.entries, "kube-system", "dns-controller"), undefined);
    assert.deepEqual(outcomes, ["applied", "refused", "applied", "applied", "deleted"]);
  });

  it("merges through the wrapped source's get and peek, a peek miss stays a miss, and is ready with its feed", async () => {
    const holder = new ConfigMapEntriesHolder({ logger });
    holder.apply("eks/pod-identity-webhook", { config: kopsConfig });
    const held: ServiceAccountRecord = { namespace: "kube-system", name: "dns-controller", annotations: {} };
    const inner: ServiceAccountSource = {
      get: async (namespace, name) =>
        namespace === "kube-system" && name === "dns-controller" ? held : undefined,
      peek: (namespace, name) =>
        namespace === "kube-system" && name === "dns-controller" ? held : undefined,
      isReady: () => true,
      start: async () => {},
      stop: async () => {},
      size: () => 1,
    };
    let feedReady = false;
    const feed = { isReady: () => feedReady, start: async () => {}, stop: async () => {} };
    const source = withConfigMapEntries(inner, holder, feed, keys);
    assert.equal(source.isReady(), false);
    feedReady = true;
    assert.equal(source.isReady(), true);
    assert.equal((await source.get("kube-system", "dns-controller"))?.annotations[keys.roleArn], dnsRole);
    assert.equal(source.peek?.("kube-system", "dns-controller")?.annotations[keys.roleArn], dnsRole);
    assert.equal(source.peek?.("default", "dns-controller"), undefined);
    holder.apply("eks/pod-identity-webhook", { config: "{}" });
    assert.deepEqual((await source.get("kube-system", "dns-controller"))?.annotations, {});
  });
});
