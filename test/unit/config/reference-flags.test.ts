// The reference webhook's command lines parse: its flags are ours, ignored with a warning, or refused with the reason.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { certificateFlags } from "../../../src/certs/flags.js";
import { runServe } from "../../../src/cli/serve.js";
import { configMapNamespaceFrom, type ServeConfig, serveConfigFrom } from "../../../src/config/config.js";
import { serveFlags } from "../../../src/config/flags.js";
import { ConfigError, parseFlags } from "../../../src/config/parse.js";
import {
  referenceFlags,
  referenceFlagWarnings,
  referenceOnlyFlags,
} from "../../../src/config/reference-flags.js";

const ours = [...serveFlags, ...certificateFlags];

/** What serve does with argv before it starts anything: parse, judge the reference's flags, build the config. */
function serve(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const { values, positionals } = parseFlags([...ours, ...referenceOnlyFlags], argv, env);
  const warnings = referenceFlagWarnings(values);
  return { config: serveConfigFrom(values), warnings, values, positionals };
}

describe("the reference webhook's flags", () => {
  test("every one is ours by its name or parsed beside ours, never both", () => {
    const ourNames = new Set(ours.map((flag) => flag.name));
    for (const flag of referenceFlags) {
      const isOurs = ourNames.has(flag.name);
      assert.equal(isOurs, flag.handling === "same", `--${flag.name} is ${flag.handling}`);
      assert.equal(flag.check === undefined, isOurs, `--${flag.name}: a check exactly when it is not ours`);
      const ourKind = ours.find((spec) => spec.name === flag.name)?.kind;
      if (ourKind !== undefined)
        assert.equal(ourKind, flag.kind, `--${flag.name} takes a value as ours does`);
    }
    assert.deepEqual(
      referenceOnlyFlags.map((spec) => spec.name),
      referenceFlags.filter((flag) => flag.handling !== "same").map((flag) => flag.name),
    );
  });

  test("kOps' arguments without --watch-config-map start with two warnings and the settings they ask for", () => {
    const { config, warnings } = serve([
      "--in-cluster=false",
      "--sts-regional-endpoint",
      "--aws-default-region=eu-west-3",
      "--token-audience=amazonaws.com",
      "--v=5",
    ]);
    assert.deepEqual(config.engine, {
      annotationPrefix: "eks.amazonaws.com",
      defaultAudience: "amazonaws.com",
      mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
      defaultExpiration: 86400,
      stsRegionalEndpoint: true,
      region: "eu-west-3",
    });
    assert.deepEqual(warnings, [
      "--in-cluster=false has no effect: the API server is reached through --kubeconfig or the in-cluster configuration, and the certificate comes from --cert-mode",
      "--v=5 has no effect: the webhook logs JSON lines to stdout at --log-level (trace, debug, info, warn, error)",
    ]);
  });

  const same: Array<[argv: string[], read: (config: ServeConfig) => unknown, expected: unknown]> = [
    [["--port=443"], (c) => c.port, 443],
    [["-port", "443"], (c) => c.port, 443],
    [["-metrics-port=9090"], (c) => c.metricsPort, 9090],
    [["--kubeconfig=/etc/kubernetes/admin.conf"], (c) => c.kubeconfig, "/etc/kubernetes/admin.conf"],
    [["-tls-cert=/etc/webhook/certs/tls.crt"], (c) => c.tlsCert, "/etc/webhook/certs/tls.crt"],
    [["-tls-key", "/etc/webhook/certs/tls.key"], (c) => c.tlsKey, "/etc/webhook/certs/tls.key"],
    [["-annotation-prefix=example.com"], (c) => c.engine.annotationPrefix, "example.com"],
    [["-token-audience=amazonaws.com"], (c) => c.engine.defaultAudience, "amazonaws.com"],
    [["-token-mount-path=/var/run/aws"], (c) => c.engine.mountPath, "/var/run/aws"],
    [["-token-expiration=3600"], (c) => c.engine.defaultExpiration, 3600],
    [["-aws-default-region=us-east-1"], (c) => c.engine.region, "us-east-1"],
    [["-sts-regional-endpoint"], (c) => c.engine.stsRegionalEndpoint, true],
    [["--sts-regional-endpoint=true"], (c) => c.engine.stsRegionalEndpoint, true],
    [["--sts-regional-endpoint=True"], (c) => c.engine.stsRegionalEndpoint, true],
    [["--sts-regional-endpoint=t"], (c) => c.engine.stsRegionalEndpoint, true],
    [["--sts-regional-endpoint=FALSE"], (c) => c.engine.stsRegionalEndpoint, false],
  ];
  for (const [argv, read, expected] of same) {
    test(`${argv.join(" ")} sets our flag of that name, without a warning`, () => {
      const { config, warnings } = serve(argv);
      assert.deepEqual(read(config), expected);
      assert.deepEqual(warnings, []);
    });
  }

  const configMapNamespaces: Array<[argv: string[], env: NodeJS.ProcessEnv, namespace: string | undefined]> =
    [
      [
        ["--in-cluster=false", "--watch-config-map", "--sts-regional-endpoint", "--v=5"],
        { POD_NAMESPACE: "kube-system" },
        "kube-system",
      ],
      [["--watch-config-map"], {}, "eks"],
      [["--watch-config-map", "--namespace=webhooks"], { POD_NAMESPACE: "kube-system" }, "webhooks"],
      [["--namespace=kube-system"], { POD_NAMESPACE: "kube-system" }, undefined],
    ];
  for (const [argv, env, namespace] of configMapNamespaces)
    test(`${argv.join(" ")} with POD_NAMESPACE=${env.POD_NAMESPACE ?? "(unset)"} watches the ConfigMap in ${namespace ?? "no namespace"}`, () => {
      const { values, warnings } = serve(argv, env);
      assert.deepEqual(
        warnings.filter((warning) => /config-map|namespace/.test(warning)),
        [],
      );
      assert.equal(configMapNamespaceFrom(values, env), namespace);
    });

  test("--watch-config-map refuses a bad --namespace and --service-accounts-file, naming them", () => {
    const bad = serve(["--watch-config-map", "--namespace=Kube_System"]);
    assert.throws(() => configMapNamespaceFrom(bad.values, {}), {
      message: '--namespace: "Kube_System" is not a namespace name (e.g. kube-system)',
    });
    const file = serve(["--watch-config-map", "--service-accounts-file=sa.yaml"]);
    assert.throws(() => configMapNamespaceFrom(file.values, {}), {
      message: "--watch-config-map needs a cluster: it cannot be used with --service-accounts-file",
    });
  });

  test("--service-name is our self-managed certificate's Service", () => {
    const { values } = serve(["-service-name=pod-identity-webhook"]);
    assert.equal(values.get("service-name"), "pod-identity-webhook");
  });

  const ignored: Array<[argv: string[], warning: string]> = [
    [["--in-cluster=false"], "--in-cluster=false has no effect: the API server"],
    [["-in-cluster=f"], "--in-cluster=false has no effect"],
    [
      ["--tls-secret", "pod-identity-webhook"],
      "--tls-secret=pod-identity-webhook has no effect: it is used only",
    ],
    [
      ["--tls-min-version=1.2"],
      "--tls-min-version=1.2 has no effect: the webhook serves TLS 1.2 and 1.3 only",
    ],
    [["--tls-min-version=1.0"], "--tls-min-version=1.0 has no effect"],
    [
      ["--enable-debugging-handlers"],
      "--enable-debugging-handlers=true has no effect: there are no debugging",
    ],
    [
      ["--service-account-lookup-grace-period=500ms"],
      "--service-account-lookup-grace-period=500ms has no effect",
    ],
    [
      ["--resync-period=1m30s"],
      "--resync-period=1m30s has no effect: the ServiceAccount cache follows a watch",
    ],
    [
      ["--container-credentials-audience=other"],
      "--container-credentials-audience=other has no effect: EKS Pod",
    ],
    [
      ["--container-credentials-full-uri=http://x"],
      "--container-credentials-full-uri=http://x has no effect",
    ],
    [
      ["--container-credentials-token-mount-path=/x"],
      "--container-credentials-token-mount-path=/x has no effect",
    ],
    [
      ["--container-credentials-token-volume-name=x"],
      "--container-credentials-token-volume-name=x has no effect",
    ],
    [["--container-credentials-token-path=x"], "--container-credentials-token-path=x has no effect"],
    [["--v=5"], "--v=5 has no effect: the webhook logs JSON lines"],
    [["-v", "4"], "--v=4 has no effect"],
    [["-v=2"], "--v=2 has no effect"],
    [["--logtostderr"], "--logtostderr=true has no effect"],
    [["-logtostderr=false"], "--logtostderr=false has no effect"],
    [["--alsologtostderr"], "--alsologtostderr=true has no effect"],
    [["--add_dir_header"], "--add_dir_header=true has no effect"],
    [["--log_backtrace_at=main.go:1"], "--log_backtrace_at=main.go:1 has no effect"],
    [["--log_dir=/tmp"], "--log_dir=/tmp has no effect"],
    [["--log_file=/tmp/x"], "--log_file=/tmp/x has no effect"],
    [["--log_file_max_size=10"], "--log_file_max_size=10 has no effect"],
    [["--one_output"], "--one_output=true has no effect"],
    [["--skip_headers"], "--skip_headers=true has no effect"],
    [["--skip_log_headers"], "--skip_log_headers=true has no effect"],
    [["--stderrthreshold=0"], "--stderrthreshold=0 has no effect"],
    [["--vmodule=handler=5"], "--vmodule=handler=5 has no effect"],
  ];
  for (const [argv, warning] of ignored) {
    test(`${argv.join(" ")} starts with one warning saying it has no effect`, () => {
      const { warnings } = serve(argv);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.ok(warnings[0]?.startsWith(warning), `${warnings[0]} should start with ${warning}`);
    });
  }

  const quiet: string[][] = [
    ["--watch-config-map=false"],
    ["--compose-role-arn=false"],
    ["--enable-debugging-handlers=false"],
    ["--version=false"],
    ["--kube-api="],
    ["--tls-cipher-suites="],
    ["--tls-min-version="],
    ["--watch-container-credentials-config="],
    ["--container-credentials-audience=pods.eks.amazonaws.com"],
    ["--container-credentials-full-uri=http://169.254.170.23/v1/credentials"],
  ];
  for (const argv of quiet) {
    test(`${argv.join(" ")} (the reference's default, asking for nothing) starts without a warning`, () => {
      assert.deepEqual(serve(argv).warnings, []);
    });
  }

  const refused: Array<[argv: string[], message: RegExp]> = [
    [
      ["--in-cluster"],
      /^--in-cluster=true \(a serving certificate from the CertificateSigningRequest API\) is not supported: use --cert-mode self-managed/,
    ],
    [["--in-cluster=true"], /^--in-cluster=true .* or pass --in-cluster=false$/],
    [
      ["--compose-role-arn"],
      /^--compose-role-arn is not supported yet \(issue 14, .*\): a role-arn annotation must hold a full IAM role ARN/,
    ],
    [
      ["--watch-container-credentials-config=/etc/cc.json"],
      /^--watch-container-credentials-config is not supported yet \(issue 14/,
    ],
    [
      ["--kube-api=https://10.0.0.1"],
      /^--kube-api is not supported: put the API server's URL in a kubeconfig and pass --kubeconfig$/,
    ],
    [["--tls-cipher-suites=TLS_AES_128_GCM_SHA256"], /^--tls-cipher-suites is not supported yet \(issue 14/],
    [["--tls-min-version=1.3"], /^--tls-min-version 1\.3 is not supported yet \(issue 14/],
    [["--tls-min-version=TLS13"], /^--tls-min-version: "TLS13" is not one of 1\.0, 1\.1, 1\.2, 1\.3$/],
    [["--version"], /^serve --version is not supported: run `web-identity-webhook version`$/],
    [["--resync-period=60"], /^--resync-period: "60" is not a Go duration \(e\.g\. 60s, 1m30s\)$/],
    [
      ["--service-account-lookup-grace-period=2 s"],
      /^--service-account-lookup-grace-period: "2 s" is not a Go duration/,
    ],
    [["--in-cluster=yes"], /^--in-cluster: "yes" is not true or false$/],
  ];
  for (const [argv, message] of refused) {
    test(`${argv.join(" ")} is refused with the reason`, () => {
      assert.throws(
        () => serve(argv),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  test("a refusal wins over warnings given before it", () => {
    assert.throws(
      () => serve(["--v=5", "--in-cluster=false", "--compose-role-arn"]),
      /--compose-role-arn is not supported yet/,
    );
  });

  test("the reference's flags have no environment twins", () => {
    const { warnings, values } = serve([], {
      WEB_IDENTITY_WEBHOOK_IN_CLUSTER: "true",
      WEB_IDENTITY_WEBHOOK_V: "5",
    });
    assert.deepEqual(warnings, []);
    assert.equal(values.has("in-cluster"), false);
  });

  test("one dash reads a flag only when it names one: other arguments stay positional", () => {
    const { positionals } = serve(["-", "-nope", "-5"]);
    assert.deepEqual(positionals, ["-", "-nope", "-5"]);
  });

  test("serve exits 2 on a refused flag before starting anything, naming the flag on stderr", async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = "";
    stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const code = await runServe(
      ["--in-cluster=false", "--compose-role-arn", "--service-accounts-file=none.yaml"],
      {
        stdout,
        stderr,
        env: {},
      },
    );
    assert.equal(code, 2);
    assert.match(err, /^web-identity-webhook serve: --compose-role-arn is not supported yet \(issue 14/);
  });
});
