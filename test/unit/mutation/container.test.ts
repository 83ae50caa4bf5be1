import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  addEnvironment,
  addTokenMount,
  envFromWarning,
  missingEnvironment,
  setsAllAwsVariables,
  tokenMountConflict,
} from "../../../src/mutation/container.js";
import { defaultEngineOptions } from "../../../src/mutation/options.js";
import { planMutation } from "../../../src/mutation/plan.js";
import type { Container } from "../../../src/mutation/pod.js";

const role = "arn:aws:iam::111122223333:role/app";
const tokenFile = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const identity = {
  roleArn: role,
  audience: "sts.amazonaws.com",
  expirationSeconds: 86400,
  stsRegionalEndpoints: false,
};
const pod = { spec: { containers: [] } };
const plan = planMutation(identity, pod, defaultEngineOptions);
const fullPlan = planMutation({ ...identity, stsRegionalEndpoints: true }, pod, {
  ...defaultEngineOptions,
  region: "eu-west-1",
});
const path = "/spec/containers/1";

const roleVar = { name: "AWS_ROLE_ARN", value: role };
const tokenVar = { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: tokenFile };
const stsVar = { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" };
const defaultRegionVar = { name: "AWS_DEFAULT_REGION", value: "eu-west-1" };
const regionVar = { name: "AWS_REGION", value: "eu-west-1" };
const appendEnv = (value: object) => ({ op: "add", path: `${path}/env/-`, value });

describe("addEnvironment", () => {
  const cases: readonly [string, Container, typeof plan, unknown][] = [
    [
      "creates the env list with the role and token file when the container has none",
      { name: "app" },
      plan,
      [{ op: "add", path: `${path}/env`, value: [roleVar, tokenVar] }],
    ],
    [
      "replaces a null env list",
      { name: "app", env: null },
      plan,
      [{ op: "add", path: `${path}/env`, value: [roleVar, tokenVar] }],
    ],
    [
      "appends each variable to an existing env list",
      { name: "app", env: [{ name: "LOG_LEVEL", value: "debug" }] },
      plan,
      [appendEnv(roleVar), appendEnv(tokenVar)],
    ],
    [
      "adds regional STS and both regions in the reference's order",
      { name: "app" },
      fullPlan,
      [{ op: "add", path: `${path}/env`, value: [stsVar, defaultRegionVar, regionVar, roleVar, tokenVar] }],
    ],
    [
      "keeps a user's AWS_ROLE_ARN over the annotation and adds no token file beside it",
      { name: "app", env: [{ name: "AWS_ROLE_ARN", value: "mine" }] },
      plan,
      [],
    ],
    [
      "keeps a user's AWS_WEB_IDENTITY_TOKEN_FILE and adds no role beside it",
      { name: "app", env: [{ name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: "/mine" }] },
      plan,
      [],
    ],
    [
      "keeps a user's AWS_REGION and adds no AWS_DEFAULT_REGION beside it",
      { name: "app", env: [{ name: "AWS_REGION", value: "us-east-1" }] },
      fullPlan,
      [appendEnv(stsVar), appendEnv(roleVar), appendEnv(tokenVar)],
    ],
    [
      "keeps a user's AWS_DEFAULT_REGION and adds no AWS_REGION beside it",
      { name: "app", env: [{ name: "AWS_DEFAULT_REGION", value: "us-east-1" }] },
      fullPlan,
      [appendEnv(stsVar), appendEnv(roleVar), appendEnv(tokenVar)],
    ],
    [
      "keeps a user's AWS_STS_REGIONAL_ENDPOINTS",
      { name: "app", env: [{ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "legacy" }] },
      fullPlan,
      [appendEnv(defaultRegionVar), appendEnv(regionVar), appendEnv(roleVar), appendEnv(tokenVar)],
    ],
    [
      "counts a variable set from a secret as defined",
      { name: "app", env: [{ name: "AWS_ROLE_ARN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] },
      plan,
      [],
    ],
  ];
  for (const [name, container, usedPlan, expected] of cases) {
    test(name, () =>
      assert.deepEqual(addEnvironment(container, path, missingEnvironment(container, usedPlan)), expected),
    );
  }
});

describe("addTokenMount", () => {
  const mount = {
    name: "aws-iam-token",
    readOnly: true,
    mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
  };
  const cases: readonly [string, Container, unknown][] = [
    [
      "creates the mounts list when the container has none",
      { name: "app" },
      [{ op: "add", path: `${path}/volumeMounts`, value: [mount] }],
    ],
    [
      "replaces a null mounts list",
      { name: "app", volumeMounts: null },
      [{ op: "add", path: `${path}/volumeMounts`, value: [mount] }],
    ],
    [
      "appends a read-only mount to the container's mounts",
      { name: "app", volumeMounts: [{ name: "data", mountPath: "/data" }] },
      [{ op: "add", path: `${path}/volumeMounts/-`, value: mount }],
    ],
    [
      "adds nothing when the container already has the token mount",
      { name: "app", volumeMounts: [mount] },
      [],
    ],
    [
      "adds nothing when the container has the token mount written with a trailing slash and //",
      {
        name: "app",
        volumeMounts: [
          { name: "aws-iam-token", mountPath: "/var/run//secrets/eks.amazonaws.com/./serviceaccount/" },
        ],
      },
      [],
    ],
  ];
  for (const [name, container, expected] of cases) {
    test(name, () => assert.deepEqual(addTokenMount(container, path, plan), expected));
  }
});

describe("tokenMountConflict", () => {
  const tokenDir = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
  const cases: readonly [string, Container, RegExp | undefined][] = [
    ["finds none in a container without mounts", { name: "app" }, undefined],
    [
      "finds none beside other mounts",
      { name: "app", volumeMounts: [{ name: "data", mountPath: "/data" }] },
      undefined,
    ],
    [
      "finds none in the webhook's own mount, written with a trailing slash",
      { name: "app", volumeMounts: [{ name: "aws-iam-token", mountPath: `${tokenDir}/` }] },
      undefined,
    ],
    [
      "finds none for a volume mounted above the token path",
      { name: "app", volumeMounts: [{ name: "secrets", mountPath: "/var/run/secrets/eks.amazonaws.com" }] },
      undefined,
    ],
    [
      "finds the token volume mounted elsewhere",
      { name: "app", volumeMounts: [{ name: "aws-iam-token", mountPath: "/elsewhere" }] },
      /^container "app" mounts volume aws-iam-token at "\/elsewhere", not whole at "\/var\/run\/secrets\/eks.amazonaws.com\/serviceaccount"; it gets no AWS environment or token mount/,
    ],
    [
      "finds the token volume mounted at the token path through a subPath",
      { name: "app", volumeMounts: [{ name: "aws-iam-token", mountPath: tokenDir, subPath: "token" }] },
      / with a subPath, not whole at /,
    ],
    [
      "finds another volume at the token path",
      { name: "app", volumeMounts: [{ name: "mine", mountPath: tokenDir }] },
      /^container "app" mounts volume "mine" at "\/var\/run\/secrets\/eks.amazonaws.com\/serviceaccount", the webhook's token path/,
    ],
    [
      "finds another volume at the token path written with a trailing slash",
      { name: "app", volumeMounts: [{ name: "mine", mountPath: `${tokenDir}/` }] },
      /mounts volume "mine" at "\/var\/run\/secrets\/eks.amazonaws.com\/serviceaccount\/", the webhook's token path/,
    ],
    [
      "finds another volume at the token path written with // and .",
      {
        name: "app",
        volumeMounts: [{ name: "mine", mountPath: "/var/run/secrets//eks.amazonaws.com/./serviceaccount" }],
      },
      /mounts volume "mine" at .*, the webhook's token path/,
    ],
    [
      "finds another volume mounted on the token file itself",
      { name: "app", volumeMounts: [{ name: "mine", mountPath: `${tokenDir}/token` }] },
      /mounts volume "mine" at .*, the webhook's token path/,
    ],
  ];
  for (const [name, container, expected] of cases) {
    test(name, () => {
      const conflict = tokenMountConflict(container, plan);
      if (expected === undefined) assert.equal(conflict, undefined);
      else assert.match(conflict ?? "", expected);
    });
  }
});

describe("envFromWarning", () => {
  const added = missingEnvironment({ name: "app" }, fullPlan);
  const cases: readonly [string, Container, string | undefined][] = [
    ["says nothing without envFrom", { name: "app" }, undefined],
    [
      "names the variables and the sources an unprefixed envFrom could shadow",
      { name: "app", envFrom: [{ configMapRef: { name: "settings" } }, { secretRef: { name: "keys" } }] },
      'container "app": the webhook sets AWS_STS_REGIONAL_ENDPOINTS, AWS_DEFAULT_REGION, AWS_REGION, AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE in env, which takes precedence over the same names from envFrom (ConfigMap "settings", Secret "keys"); to keep your own values, set them in env',
    ],
    [
      "names only the variables a prefix can produce",
      { name: "app", envFrom: [{ prefix: "AWS_ROLE", configMapRef: { name: "role" } }] },
      'container "app": the webhook sets AWS_ROLE_ARN in env, which takes precedence over the same names from envFrom (ConfigMap "role"); to keep your own values, set them in env',
    ],
    [
      "says nothing when every prefix rules the variables out",
      { name: "app", envFrom: [{ prefix: "APP_", configMapRef: { name: "settings" } }] },
      undefined,
    ],
  ];
  for (const [name, container, expected] of cases) {
    test(name, () => assert.equal(envFromWarning(container, added), expected));
  }

  test("says nothing when the webhook adds no variable", () => {
    assert.equal(envFromWarning({ name: "app", envFrom: [{ configMapRef: { name: "c" } }] }, []), undefined);
  });
});

describe("setsAllAwsVariables", () => {
  const cases: readonly [string, Container, boolean][] = [
    [
      "is true when the container sets a web identity variable, a region and regional STS",
      {
        name: "app",
        env: [
          { name: "AWS_ROLE_ARN", value: role },
          { name: "AWS_REGION", value: "eu-west-1" },
          { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
        ],
      },
      true,
    ],
    [
      "is false without regional STS",
      {
        name: "app",
        env: [
          { name: "AWS_ROLE_ARN", value: role },
          { name: "AWS_REGION", value: "eu-west-1" },
        ],
      },
      false,
    ],
    ["is false without env", { name: "app" }, false],
  ];
  for (const [name, container, expected] of cases) {
    test(name, () => assert.equal(setsAllAwsVariables(container), expected));
  }
});
