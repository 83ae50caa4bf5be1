import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Annotations,
  type IdentityResolution,
  resolveIdentity,
} from "../../../src/identity/identity.js";
import { defaultEngineOptions } from "../../../src/mutation/options.js";

const role = "arn:aws:iam::111122223333:role/app";
const serviceAccount = (annotations: Annotations) => ({ name: "app", annotations });
const identity = (overrides: object = {}) => ({
  roleArn: role,
  audience: "sts.amazonaws.com",
  expirationSeconds: 86400,
  stsRegionalEndpoints: false,
  ...overrides,
});

interface Case {
  readonly name: string;
  readonly serviceAccount?: Annotations;
  readonly pod?: Annotations;
  readonly options?: object;
  readonly expected: IdentityResolution;
}

const cases: readonly Case[] = [
  {
    name: "takes the role from the ServiceAccount with the default audience and expiration",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    expected: { identity: identity(), skipContainers: [], warnings: [] },
  },
  {
    name: "has no identity without a ServiceAccount",
    expected: { identity: undefined, skipContainers: [], warnings: [] },
  },
  {
    name: "has no identity when the ServiceAccount has no role-arn",
    serviceAccount: { "eks.amazonaws.com/audience": "sts.amazonaws.com" },
    expected: { identity: undefined, skipContainers: [], warnings: [] },
  },
  {
    name: "treats a blank role-arn as none",
    serviceAccount: { "eks.amazonaws.com/role-arn": "  " },
    expected: { identity: undefined, skipContainers: [], warnings: [] },
  },
  {
    name: "trims spaces around the role ARN",
    serviceAccount: { "eks.amazonaws.com/role-arn": ` ${role}\n` },
    expected: { identity: identity(), skipContainers: [], warnings: [] },
  },
  {
    name: "uses a role that is not an ARN but warns",
    serviceAccount: { "eks.amazonaws.com/role-arn": "app-role" },
    expected: {
      identity: identity({ roleArn: "app-role" }),
      skipContainers: [],
      warnings: [
        'ServiceAccount app: eks.amazonaws.com/role-arn "app-role" is not an IAM role ARN; use arn:aws:iam::<12-digit account>:role/<name>',
      ],
    },
  },
  {
    name: "reads audience, regional STS and expiration from the ServiceAccount",
    serviceAccount: {
      "eks.amazonaws.com/role-arn": role,
      "eks.amazonaws.com/audience": "example.com",
      "eks.amazonaws.com/sts-regional-endpoints": "true",
      "eks.amazonaws.com/token-expiration": "3600",
    },
    expected: {
      identity: identity({ audience: "example.com", stsRegionalEndpoints: true, expirationSeconds: 3600 }),
      skipContainers: [],
      warnings: [],
    },
  },
  {
    name: "uses the operator's defaults when the ServiceAccount sets nothing else",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    options: { defaultAudience: "irsa.example.com", defaultExpiration: 3600, stsRegionalEndpoint: true },
    expected: {
      identity: identity({
        audience: "irsa.example.com",
        stsRegionalEndpoints: true,
        expirationSeconds: 3600,
      }),
      skipContainers: [],
      warnings: [],
    },
  },
  {
    name: "lets the ServiceAccount's sts-regional-endpoints false override the flag",
    serviceAccount: {
      "eks.amazonaws.com/role-arn": role,
      "eks.amazonaws.com/sts-regional-endpoints": "false",
    },
    options: { stsRegionalEndpoint: true },
    expected: { identity: identity(), skipContainers: [], warnings: [] },
  },
  {
    name: "keeps the flag's regional STS setting when the annotation is not a boolean, and warns",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/sts-regional-endpoints": "yes" },
    options: { stsRegionalEndpoint: true },
    expected: {
      identity: identity({ stsRegionalEndpoints: true }),
      skipContainers: [],
      warnings: [
        'ServiceAccount app: eks.amazonaws.com/sts-regional-endpoints "yes" is not "true" or "false"; using true',
      ],
    },
  },
  {
    name: "uses the default audience for a blank audience, and warns",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/audience": "" },
    expected: {
      identity: identity(),
      skipContainers: [],
      warnings: [
        'ServiceAccount app: eks.amazonaws.com/audience is blank; using "sts.amazonaws.com". Set it or remove it',
      ],
    },
  },
  {
    name: "clamps the ServiceAccount's expiration and warns",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/token-expiration": "60" },
    expected: {
      identity: identity({ expirationSeconds: 600 }),
      skipContainers: [],
      warnings: [
        'ServiceAccount app: eks.amazonaws.com/token-expiration "60" is outside 600..86400 seconds; using 600',
      ],
    },
  },
  {
    name: "lets the pod's token-expiration win over the ServiceAccount's",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/token-expiration": "7200" },
    pod: { "eks.amazonaws.com/token-expiration": "3600" },
    expected: { identity: identity({ expirationSeconds: 3600 }), skipContainers: [], warnings: [] },
  },
  {
    name: "falls back to the ServiceAccount's expiration when the pod's is not a number, as the reference does",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/token-expiration": "7200" },
    pod: { "eks.amazonaws.com/token-expiration": "2h" },
    expected: {
      identity: identity({ expirationSeconds: 7200 }),
      skipContainers: [],
      warnings: [
        'pod annotation eks.amazonaws.com/token-expiration "2h" is not a whole number of seconds (600..86400); using 7200',
      ],
    },
  },
  {
    name: "reads skip-containers from the pod",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    pod: { "eks.amazonaws.com/skip-containers": "istio-proxy, linkerd-proxy" },
    expected: { identity: identity(), skipContainers: ["istio-proxy", "linkerd-proxy"], warnings: [] },
  },
  {
    name: "never takes the role from a pod annotation, and warns",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    pod: { "eks.amazonaws.com/role-arn": "arn:aws:iam::999999999999:role/admin" },
    expected: {
      identity: identity(),
      skipContainers: [],
      warnings: [
        `pod annotation "eks.amazonaws.com/role-arn" is ignored: a pod's IAM role comes only from its ServiceAccount's eks.amazonaws.com/role-arn`,
      ],
    },
  },
  {
    name: "warns about a pod role-arn even when the ServiceAccount has no role",
    serviceAccount: {},
    pod: { "eks.amazonaws.com/role-arn": role },
    expected: {
      identity: undefined,
      skipContainers: [],
      warnings: [
        `pod annotation "eks.amazonaws.com/role-arn" is ignored: a pod's IAM role comes only from its ServiceAccount's eks.amazonaws.com/role-arn`,
      ],
    },
  },
  {
    name: "treats a near miss of role-arn on a pod as a role the pod tries to set",
    pod: { "eks.amazonaws.com/roleArn": role },
    expected: {
      identity: undefined,
      skipContainers: [],
      warnings: [
        `pod annotation "eks.amazonaws.com/roleArn" is ignored: a pod's IAM role comes only from its ServiceAccount's eks.amazonaws.com/role-arn`,
      ],
    },
  },
  {
    name: "points a pod's audience annotation to the ServiceAccount",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    pod: { "eks.amazonaws.com/audience": "example.com" },
    expected: {
      identity: identity(),
      skipContainers: [],
      warnings: [
        'pod annotation "eks.amazonaws.com/audience" is ignored: set eks.amazonaws.com/audience on the ServiceAccount instead',
      ],
    },
  },
  {
    name: "suggests the right key for a near miss on the pod",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    pod: { "eks.amazonaws.com/skip-container": "sidecar" },
    expected: {
      identity: identity(),
      skipContainers: [],
      warnings: [
        'pod annotation "eks.amazonaws.com/skip-container" is not read; did you mean eks.amazonaws.com/skip-containers?',
      ],
    },
  },
  {
    name: "suggests the right key for a near-miss role-arn on the ServiceAccount",
    serviceAccount: { "eks.amazon.com/role-arn": role },
    expected: {
      identity: undefined,
      skipContainers: [],
      warnings: [
        'ServiceAccount app: annotation "eks.amazon.com/role-arn" is not read; did you mean eks.amazonaws.com/role-arn?',
      ],
    },
  },
  {
    name: "warns about a near miss on the ServiceAccount even when the role is set",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/audeince": "example.com" },
    expected: {
      identity: identity(),
      skipContainers: [],
      warnings: [
        'ServiceAccount app: annotation "eks.amazonaws.com/audeince" is not read; did you mean eks.amazonaws.com/audience?',
      ],
    },
  },
  {
    name: "warns about role-arn under another prefix when the ServiceAccount has no role",
    serviceAccount: { "irsa.example.com/role-arn": role },
    expected: {
      identity: undefined,
      skipContainers: [],
      warnings: [
        'ServiceAccount app: annotation "irsa.example.com/role-arn" is not read; did you mean eks.amazonaws.com/role-arn?',
      ],
    },
  },
  {
    name: "stays quiet about role-arn under another prefix when the ServiceAccount has a role",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "irsa.example.com/role-arn": role },
    pod: { "irsa.example.com/role-arn": role },
    expected: { identity: identity(), skipContainers: [], warnings: [] },
  },
  {
    name: "points skip-containers on a ServiceAccount to the pod template",
    serviceAccount: { "eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/skip-containers": "sidecar" },
    expected: {
      identity: identity(),
      skipContainers: [],
      warnings: [
        "ServiceAccount app: eks.amazonaws.com/skip-containers is read only on pods; move it to the pod template",
      ],
    },
  },
  {
    name: "reads annotations under a configured prefix only",
    serviceAccount: { "irsa.example.com/role-arn": role, "irsa.example.com/audience": "example.com" },
    pod: { "irsa.example.com/token-expiration": "3600" },
    options: { annotationPrefix: "irsa.example.com" },
    expected: {
      identity: identity({ audience: "example.com", expirationSeconds: 3600 }),
      skipContainers: [],
      warnings: [],
    },
  },
  {
    name: "ignores the pod's unrelated annotations",
    serviceAccount: { "eks.amazonaws.com/role-arn": role },
    pod: { "prometheus.io/scrape": "true", "eks.amazonaws.com/compute-type": "fargate" },
    expected: { identity: identity(), skipContainers: [], warnings: [] },
  },
];

describe("resolveIdentity", () => {
  for (const c of cases) {
    test(c.name, () => {
      const options = { ...defaultEngineOptions, ...c.options };
      const actual = resolveIdentity(
        c.serviceAccount === undefined ? undefined : serviceAccount(c.serviceAccount),
        c.pod,
        options,
      );
      assert.deepEqual(actual, c.expected);
      for (const warning of actual.warnings) {
        assert.ok(
          warning.length < 200 && !warning.includes("\n"),
          `warning too long or multi-line: ${warning}`,
        );
      }
    });
  }
});
