import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultEngineOptions } from "../../../src/mutation/options.js";
import { isWindowsPod, normalizeMountPath, planMutation } from "../../../src/mutation/plan.js";
import type { Pod } from "../../../src/mutation/pod.js";

const identity = {
  roleArn: "arn:aws:iam::111122223333:role/app",
  audience: "sts.amazonaws.com",
  expirationSeconds: 86400,
  stsRegionalEndpoints: false,
};
const linuxPod: Pod = { spec: { containers: [{ name: "app" }] } };
const windowsPod: Pod = {
  spec: { containers: [{ name: "app" }], nodeSelector: { "kubernetes.io/os": "windows" } },
};

const mountPathCases: readonly [string, string][] = [
  ["/var/run/secrets/x", "/var/run/secrets/x"],
  ["/var/run/secrets/x/", "/var/run/secrets/x"],
  ["/var/run//secrets/x//", "/var/run/secrets/x"],
  ["/var/run/./secrets/x/.", "/var/run/secrets/x"],
  ["/", "/"],
];
for (const [path, expected] of mountPathCases) {
  test(`normalizes the mount path ${JSON.stringify(path)} to ${JSON.stringify(expected)}`, () =>
    assert.equal(normalizeMountPath(path), expected));
}

const windowsCases: readonly [string, Pod, boolean][] = [
  ["a pod without a node selector runs on Linux", linuxPod, false],
  ["kubernetes.io/os: windows selects Windows", windowsPod, true],
  [
    "beta.kubernetes.io/os: windows selects Windows",
    { spec: { nodeSelector: { "beta.kubernetes.io/os": "windows" } } },
    true,
  ],
  [
    "kubernetes.io/os: linux selects Linux",
    { spec: { nodeSelector: { "kubernetes.io/os": "linux" } } },
    false,
  ],
  ["a pod without a spec runs on Linux", {}, false],
  [
    "spec.os.name: windows selects Windows without a node selector",
    { spec: { os: { name: "windows" } } },
    true,
  ],
  ["spec.os.name: linux selects Linux", { spec: { os: { name: "linux" } } }, false],
  [
    "spec.os.name wins over a node selector, as the kubelet enforces it",
    { spec: { os: { name: "linux" }, nodeSelector: { "kubernetes.io/os": "windows" } } },
    false,
  ],
  [
    "an empty spec.os.name falls back to the node selector",
    { spec: { os: { name: "" }, nodeSelector: { "kubernetes.io/os": "windows" } } },
    true,
  ],
];
for (const [name, pod, expected] of windowsCases) {
  test(name, () => assert.equal(isWindowsPod(pod), expected));
}

test("plans the role and the Linux token file for a Linux pod", () => {
  assert.deepEqual(planMutation(identity, linuxPod, defaultEngineOptions), {
    mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
    normalizedMountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
    mount: {
      name: "aws-iam-token",
      readOnly: true,
      mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
    },
    stsRegionalEndpoints: undefined,
    region: [],
    webIdentity: [
      { name: "AWS_ROLE_ARN", value: "arn:aws:iam::111122223333:role/app" },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ],
  });
});

test("converts the token file to a C: path for a Windows pod, keeping the mount path", () => {
  const plan = planMutation(identity, windowsPod, {
    ...defaultEngineOptions,
    mountPath: "/var/run/secrets/irsa",
  });
  assert.equal(plan.mount.mountPath, "/var/run/secrets/irsa");
  assert.deepEqual(plan.webIdentity[1], {
    name: "AWS_WEB_IDENTITY_TOKEN_FILE",
    value: "C:\\var\\run\\secrets\\irsa\\token",
  });
});

test("puts the token at /token when the mount path is the root", () => {
  const plan = planMutation(identity, linuxPod, { ...defaultEngineOptions, mountPath: "/" });
  assert.deepEqual(plan.webIdentity[1], { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: "/token" });
});

test("plans regional STS and both region variables when asked", () => {
  const plan = planMutation({ ...identity, stsRegionalEndpoints: true }, linuxPod, {
    ...defaultEngineOptions,
    region: "eu-west-1",
  });
  assert.deepEqual(plan.stsRegionalEndpoints, { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" });
  assert.deepEqual(plan.region, [
    { name: "AWS_DEFAULT_REGION", value: "eu-west-1" },
    { name: "AWS_REGION", value: "eu-west-1" },
  ]);
});

test("builds the per-options values once and shares them between pods", () => {
  const options = { ...defaultEngineOptions, region: "eu-west-1" };
  const first = planMutation(identity, linuxPod, options);
  const second = planMutation(
    { ...identity, roleArn: "arn:aws:iam::111122223333:role/other" },
    linuxPod,
    options,
  );
  assert.equal(first.mount, second.mount);
  assert.equal(first.region, second.region);
  assert.ok(Object.isFrozen(first.mount));
});
