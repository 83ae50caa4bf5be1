import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decide, describeReason } from "../../../src/mutation/decide.js";
import { defaultEngineOptions, type EngineOptions } from "../../../src/mutation/options.js";
import type { Container, Pod, ServiceAccountRecord } from "../../../src/mutation/pod.js";
import { applyToPod } from "./apply.js";

const role = "arn:aws:iam::111122223333:role/app";
const tokenFile = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const mountPath = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const serviceAccount: ServiceAccountRecord = {
  namespace: "default",
  name: "app",
  annotations: { "eks.amazonaws.com/role-arn": role },
};
const volume = {
  name: "aws-iam-token",
  projected: {
    sources: [
      { serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } },
    ],
  },
};
const mount = { name: "aws-iam-token", readOnly: true, mountPath };
const env = [
  { name: "AWS_ROLE_ARN", value: role },
  { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: tokenFile },
];
const podWith = (containers: Container[], rest: object = {}): Pod => ({
  metadata: { name: "p", namespace: "default" },
  spec: { serviceAccountName: "app", containers, ...rest },
});

describe("decide", () => {
  test("adds the volume, and env and mount to every container", () => {
    const decision = decide(podWith([{ name: "app" }]), serviceAccount, defaultEngineOptions);
    assert.deepEqual(decision, {
      patch: [
        { op: "add", path: "/spec/volumes", value: [volume] },
        { op: "add", path: "/spec/containers/0/env", value: env },
        { op: "add", path: "/spec/containers/0/volumeMounts", value: [mount] },
      ],
      warnings: [],
      reason: "mutated",
      identity: {
        roleArn: role,
        audience: "sts.amazonaws.com",
        expirationSeconds: 86400,
        stsRegionalEndpoints: false,
      },
    });
  });

  test("mutates init containers and native sidecars too, addressing each by index", () => {
    const pod = podWith([{ name: "app" }], {
      initContainers: [{ name: "init" }, { name: "proxy", restartPolicy: "Always" }],
    });
    const paths = decide(pod, serviceAccount, defaultEngineOptions).patch.map((operation) => operation.path);
    assert.deepEqual(paths, [
      "/spec/volumes",
      "/spec/initContainers/0/env",
      "/spec/initContainers/0/volumeMounts",
      "/spec/initContainers/1/env",
      "/spec/initContainers/1/volumeMounts",
      "/spec/containers/0/env",
      "/spec/containers/0/volumeMounts",
    ]);
  });

  test("does nothing when the ServiceAccount is not found", () => {
    assert.deepEqual(decide(podWith([{ name: "app" }]), undefined, defaultEngineOptions), {
      patch: [],
      warnings: [],
      reason: "no-serviceaccount",
    });
  });

  test("does nothing when the ServiceAccount has no role-arn", () => {
    const bare = { ...serviceAccount, annotations: {} };
    assert.deepEqual(decide(podWith([{ name: "app" }]), bare, defaultEngineOptions), {
      patch: [],
      warnings: [],
      reason: "no-role-arn",
    });
  });

  test("does nothing when skip-containers names every container", () => {
    const pod: Pod = {
      ...podWith([{ name: "a" }], { initContainers: [{ name: "b" }] }),
      metadata: { annotations: { "eks.amazonaws.com/skip-containers": "a, b" } },
    };
    const decision = decide(pod, serviceAccount, defaultEngineOptions);
    assert.deepEqual([decision.patch, decision.reason], [[], "all-containers-skipped"]);
  });

  test("skips the named containers only, and warns about a name that is not a container", () => {
    const pod: Pod = {
      ...podWith([{ name: "istio-proxy" }, { name: "app" }]),
      metadata: { annotations: { "eks.amazonaws.com/skip-containers": "istio-proxy,linkerd" } },
    };
    const decision = decide(pod, serviceAccount, defaultEngineOptions);
    assert.deepEqual(
      decision.patch.map((operation) => operation.path),
      ["/spec/volumes", "/spec/containers/1/env", "/spec/containers/1/volumeMounts"],
    );
    assert.deepEqual(decision.warnings, [
      'pod annotation eks.amazonaws.com/skip-containers names "linkerd", which is not a container of this pod; check the spelling',
    ]);
  });

  test("gives a Windows pod a C: token file", () => {
    const pod = podWith([{ name: "app" }], { nodeSelector: { "kubernetes.io/os": "windows" } });
    const decision = decide(pod, serviceAccount, defaultEngineOptions);
    assert.deepEqual(decision.patch[1], {
      op: "add",
      path: "/spec/containers/0/env",
      value: [
        { name: "AWS_ROLE_ARN", value: role },
        {
          name: "AWS_WEB_IDENTITY_TOKEN_FILE",
          value: "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token",
        },
      ],
    });
  });

  test("gives an already mutated pod an empty patch", () => {
    const pod = podWith([{ name: "app" }], { initContainers: [{ name: "init" }] });
    const mutated = applyToPod(pod, decide(pod, serviceAccount, defaultEngineOptions).patch);
    assert.deepEqual(decide(mutated, serviceAccount, defaultEngineOptions), {
      patch: [],
      warnings: [],
      reason: "already-mutated",
      identity: {
        roleArn: role,
        audience: "sts.amazonaws.com",
        expirationSeconds: 86400,
        stsRegionalEndpoints: false,
      },
    });
  });

  test("on reinvocation, adds env and mount only to the sidecar another webhook added", () => {
    const pod = podWith([{ name: "app" }]);
    const mutated = applyToPod(pod, decide(pod, serviceAccount, defaultEngineOptions).patch) as {
      spec: { containers: Container[] };
    };
    mutated.spec.containers.push({
      name: "injected-sidecar",
      volumeMounts: [{ name: "certs", mountPath: "/certs" }],
    });
    const decision = decide(mutated, serviceAccount, defaultEngineOptions);
    assert.deepEqual(decision.patch, [
      { op: "add", path: "/spec/containers/1/env", value: env },
      { op: "add", path: "/spec/containers/1/volumeMounts/-", value: mount },
    ]);
    assert.equal(decision.reason, "mutated");
  });

  test("leaves a pod whose own aws-iam-token volume is not the token alone, with a warning", () => {
    const pod = podWith([{ name: "app" }], {
      volumes: [{ name: "aws-iam-token", hostPath: { path: "/token" } }],
    });
    assert.deepEqual(decide(pod, serviceAccount, defaultEngineOptions), {
      patch: [],
      warnings: [
        "the pod's volume aws-iam-token is not a projected ServiceAccount token for audience \"sts.amazonaws.com\" at path token; pod admitted without AWS credentials. Rename that volume: aws-iam-token is the webhook's",
      ],
      reason: "token-volume-conflict",
      identity: {
        roleArn: role,
        audience: "sts.amazonaws.com",
        expirationSeconds: 86400,
        stsRegionalEndpoints: false,
      },
    });
  });

  test("keeps a pod's own token volume when it projects the identity's token", () => {
    const pod = podWith([{ name: "app" }], {
      volumes: [
        {
          name: "aws-iam-token",
          projected: { sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", path: "token" } }] },
        },
      ],
    });
    const paths = decide(pod, serviceAccount, defaultEngineOptions).patch.map((operation) => operation.path);
    assert.deepEqual(paths, ["/spec/containers/0/env", "/spec/containers/0/volumeMounts"]);
  });

  test("treats a token volume for another audience as the pod's own", () => {
    const pod = podWith([{ name: "app" }], {
      volumes: [
        {
          name: "aws-iam-token",
          projected: { sources: [{ serviceAccountToken: { audience: "vault", path: "token" } }] },
        },
      ],
    });
    assert.equal(decide(pod, serviceAccount, defaultEngineOptions).reason, "token-volume-conflict");
  });

  test("mutates the containers without a conflict and warns about the one with", () => {
    const pod = podWith([
      { name: "app" },
      { name: "proxy", volumeMounts: [{ name: "mine", mountPath: `${mountPath}/` }] },
    ]);
    const decision = decide(pod, serviceAccount, defaultEngineOptions);
    assert.equal(decision.reason, "mutated");
    assert.deepEqual(
      decision.patch.map((operation) => operation.path),
      ["/spec/volumes", "/spec/containers/0/env", "/spec/containers/0/volumeMounts"],
    );
    assert.equal(decision.warnings.length, 1);
    assert.match(decision.warnings[0] ?? "", /^container "proxy" mounts volume "mine" at /);
  });

  test("adds nothing, not even the volume, when every container conflicts", () => {
    const pod = podWith([
      { name: "app", volumeMounts: [{ name: "aws-iam-token", mountPath: "/elsewhere" }] },
    ]);
    const decision = decide(pod, serviceAccount, defaultEngineOptions);
    assert.deepEqual([decision.patch, decision.reason], [[], "token-path-conflict"]);
    assert.equal(decision.warnings.length, 1);
  });

  test("passes identity warnings through on every outcome", () => {
    const pod: Pod = {
      ...podWith([{ name: "app" }]),
      metadata: { annotations: { "eks.amazonaws.com/role-arn": role } },
    };
    const warning = `pod annotation "eks.amazonaws.com/role-arn" is ignored: a pod's IAM role comes only from its ServiceAccount's eks.amazonaws.com/role-arn`;
    assert.deepEqual(decide(pod, undefined, defaultEngineOptions).warnings, [warning]);
    assert.deepEqual(decide(pod, serviceAccount, defaultEngineOptions).warnings, [warning]);
  });

  test("does not change the pod it is given", () => {
    const pod = podWith([{ name: "app", env: [{ name: "A", value: "1" }] }]);
    const before = structuredClone(pod);
    decide(pod, serviceAccount, { ...defaultEngineOptions, region: "eu-west-1", stsRegionalEndpoint: true });
    assert.deepEqual(pod, before);
  });
});

describe("describeReason", () => {
  test("says each reason as a sentence for logs", () => {
    assert.equal(
      describeReason("mutated"),
      "added the web identity token volume, mounts and AWS environment",
    );
    assert.equal(describeReason("no-role-arn"), "the pod's ServiceAccount has no role-arn annotation");
  });
});

describe("decide on arbitrary pods", () => {
  const names = fc.constantFrom("app", "init", "proxy", "istio-proxy", "a/b", "x~y");
  const awsVariable = fc.record({
    name: fc.constantFrom(
      "AWS_ROLE_ARN",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      "AWS_REGION",
      "AWS_DEFAULT_REGION",
      "AWS_STS_REGIONAL_ENDPOINTS",
      "OTHER",
    ),
    value: fc.string(),
  });
  const mountArbitrary = fc.record({
    name: fc.constantFrom("aws-iam-token", "data"),
    mountPath: fc.constantFrom(mountPath, `${mountPath}/`, "/data", "/other"),
  });
  const container = fc.record(
    {
      name: names,
      env: fc.option(fc.array(awsVariable, { maxLength: 4 })),
      volumeMounts: fc.option(fc.array(mountArbitrary, { maxLength: 2 })),
    },
    { requiredKeys: ["name"] },
  );
  const uniqueContainers = (max: number) =>
    fc.uniqueArray(container, { selector: (c) => c.name, maxLength: max }) as fc.Arbitrary<Container[]>;
  const pod = fc.record({
    metadata: fc.record({
      annotations: fc.option(
        fc.record(
          {
            "eks.amazonaws.com/skip-containers": fc.constantFrom("proxy", "istio-proxy, app", ""),
            "eks.amazonaws.com/token-expiration": fc.constantFrom("3600", "0", "x"),
          },
          { requiredKeys: [] },
        ),
      ),
    }),
    spec: fc.record(
      {
        containers: uniqueContainers(3),
        initContainers: uniqueContainers(2),
        volumes: fc.option(
          fc.uniqueArray(
            fc.constantFrom(
              { name: "aws-iam-token" },
              {
                name: "aws-iam-token",
                projected: {
                  sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", path: "token" } }],
                },
              },
              { name: "data" },
            ),
            { selector: (volume) => volume.name, maxLength: 2 },
          ),
        ),
        nodeSelector: fc.constantFrom({}, { "kubernetes.io/os": "windows" }),
        os: fc.constantFrom({ name: "windows" }, { name: "linux" }),
      },
      { requiredKeys: ["containers"] },
    ),
  }) as fc.Arbitrary<Pod>;
  const options = fc.record({
    region: fc.constantFrom("eu-west-1", undefined),
    stsRegionalEndpoint: fc.boolean(),
  });

  test("only adds, and a second decision on the result is empty", () => {
    fc.assert(
      fc.property(pod, options, (input, optionOverrides) => {
        const engineOptions: EngineOptions = {
          ...defaultEngineOptions,
          stsRegionalEndpoint: optionOverrides.stsRegionalEndpoint,
          ...(optionOverrides.region === undefined ? {} : { region: optionOverrides.region }),
        };
        const first = decide(input, serviceAccount, engineOptions);
        assert.ok(first.patch.every((operation) => operation.op === "add"));
        const mutated = applyToPod(input, first.patch);
        const second = decide(mutated, serviceAccount, engineOptions);
        assert.deepEqual(second.patch, []);
        assert.equal(second.reason, first.reason === "mutated" ? "already-mutated" : first.reason);
      }),
      { numRuns: 300 },
    );
  });
});
