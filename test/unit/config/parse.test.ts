// Flags and their environment twins become validated values; errors name the flag and the value.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engineOptionsFrom, serveConfigFrom } from "../../../src/config/config.js";
import { engineFlags, envName, serveFlags } from "../../../src/config/flags.js";
import { ConfigError, parseFlags } from "../../../src/config/parse.js";
import { defaultCacheTimings } from "../../../src/serviceaccounts/cache.js";

function serve(argv: string[], env: NodeJS.ProcessEnv = {}) {
  return serveConfigFrom(parseFlags(serveFlags, argv, env).values);
}

describe("flag parsing", () => {
  test("gives the documented defaults when nothing is set", () => {
    const config = serve([]);
    assert.deepEqual(config.engine, {
      annotationPrefix: "eks.amazonaws.com",
      defaultAudience: "sts.amazonaws.com",
      mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
      defaultExpiration: 86400,
      stsRegionalEndpoint: false,
    });
    assert.equal(config.port, 8443);
    assert.equal(config.metricsPort, 9999);
    assert.equal(config.lookupTimeoutMs, 2000);
  });

  test("names every flag's environment twin in upper snake case", () => {
    assert.equal(envName("token-expiration"), "WEB_IDENTITY_WEBHOOK_TOKEN_EXPIRATION");
    for (const flag of serveFlags) assert.match(envName(flag.name), /^WEB_IDENTITY_WEBHOOK_[A-Z0-9_]+$/);
  });

  test("reads a flag from its environment twin", () => {
    const config = serve([], {
      WEB_IDENTITY_WEBHOOK_TOKEN_EXPIRATION: "3600",
      WEB_IDENTITY_WEBHOOK_AWS_DEFAULT_REGION: "eu-west-1",
    });
    assert.equal(config.engine.defaultExpiration, 3600);
    assert.equal(config.engine.region, "eu-west-1");
  });

  test("lets the command line win over the environment", () => {
    const config = serve(["--port=9443"], { WEB_IDENTITY_WEBHOOK_PORT: "7443" });
    assert.equal(config.port, 9443);
  });

  test("accepts --flag value, --flag=value and a bare boolean flag", () => {
    const config = serve([
      "--token-audience",
      "my-aud",
      "--annotation-prefix=example.com",
      "--sts-regional-endpoint",
    ]);
    assert.equal(config.engine.defaultAudience, "my-aud");
    assert.equal(config.engine.annotationPrefix, "example.com");
    assert.equal(config.engine.stsRegionalEndpoint, true);
  });

  const rejected: [string, string[], NodeJS.ProcessEnv, string][] = [
    [
      "a unit in a number",
      ["--token-expiration", "1d"],
      {},
      '--token-expiration: "1d" is not a whole number (600..86400)',
    ],
    [
      "an expiration out of range",
      ["--token-expiration=60"],
      {},
      "--token-expiration: 60 is out of range (600..86400)",
    ],
    [
      "a bad value from the environment, naming the variable",
      [],
      { WEB_IDENTITY_WEBHOOK_PORT: "http" },
      'WEB_IDENTITY_WEBHOOK_PORT: "http" is not a whole number (0..65535)',
    ],
    ["an unknown flag", ["--role-arn", "x"], {}, "unknown flag --role-arn (see --help)"],
    ["a flag without its value", ["--port"], {}, "--port needs a value"],
    [
      "a boolean that is not one",
      ["--sts-regional-endpoint=yes"],
      {},
      '--sts-regional-endpoint: "yes" is not true or false',
    ],
    [
      "a log level that does not exist",
      ["--log-level=verbose"],
      {},
      '--log-level: "verbose" is not one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      "an annotation prefix that is not a DNS subdomain",
      ["--annotation-prefix=Eks_Amazonaws"],
      {},
      '--annotation-prefix: "Eks_Amazonaws" is not a DNS subdomain (e.g. eks.amazonaws.com)',
    ],
    [
      "a relative mount path",
      ["--token-mount-path=var/run"],
      {},
      "--token-mount-path: \"var/run\" must be an absolute path without a trailing slash or ':'",
    ],
    [
      "a cluster and a file together",
      ["--kubeconfig=k", "--service-accounts-file=f"],
      {},
      "--kubeconfig and --service-accounts-file exclude each other: choose a cluster or a file",
    ],
  ];
  for (const [what, argv, env, message] of rejected) {
    test(`rejects ${what}`, () => {
      assert.throws(
        () => serve(argv, env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.message, message);
          return true;
        },
      );
    });
  }

  test("gives the ServiceAccount cache's own defaults for the lookup rate and the negative cache's TTL", () => {
    const config = serve([]);
    assert.equal(config.lookupRatePerSecond, defaultCacheTimings.lookupRatePerSecond);
    assert.equal(config.negativeCacheTtlMs, defaultCacheTimings.negativeCacheTtlMs);
    const fromEnv = serve([], {
      WEB_IDENTITY_WEBHOOK_LOOKUP_RATE: "5",
      WEB_IDENTITY_WEBHOOK_NEGATIVE_CACHE_TTL: "0",
    });
    assert.deepEqual([fromEnv.lookupRatePerSecond, fromEnv.negativeCacheTtlMs], [5, 0]);
    assert.throws(() => serve(["--lookup-rate=0"]), {
      message: "--lookup-rate: 0 is out of range (1..10000)",
    });
    assert.throws(() => serve(["--negative-cache-ttl=5s"]), {
      message: '--negative-cache-ttl: "5s" is not a whole number (0..60000)',
    });
  });

  test("collects non-flag arguments as positionals", () => {
    const parsed = parseFlags(engineFlags, ["extra", "--token-audience=a"], {});
    assert.deepEqual(parsed.positionals, ["extra"]);
    assert.equal(engineOptionsFrom(parsed.values).defaultAudience, "a");
  });
});
