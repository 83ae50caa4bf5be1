import assert from "node:assert/strict";
import { test } from "node:test";
import { addTokenVolume, tokenVolume } from "../../../src/mutation/volume.js";

const identity = {
  roleArn: "arn:aws:iam::111122223333:role/app",
  audience: "sts.amazonaws.com",
  expirationSeconds: 3600,
  stsRegionalEndpoints: false,
};
const volume = {
  name: "aws-iam-token",
  projected: {
    sources: [
      { serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 3600, path: "token" } },
    ],
  },
};

test("projects a ServiceAccount token with the identity's audience and expiration", () => {
  assert.deepEqual(tokenVolume(identity), volume);
});

const cases: readonly [string, Parameters<typeof addTokenVolume>[0], unknown][] = [
  [
    "creates the volumes list when the pod has none",
    {},
    [{ op: "add", path: "/spec/volumes", value: [volume] }],
  ],
  [
    "replaces a null volumes list",
    { volumes: null },
    [{ op: "add", path: "/spec/volumes", value: [volume] }],
  ],
  [
    "appends to the pod's volumes",
    { volumes: [{ name: "data" }] },
    [{ op: "add", path: "/spec/volumes/-", value: volume }],
  ],
  [
    "adds nothing when a volume of that name exists",
    { volumes: [{ name: "data" }, { name: "aws-iam-token" }] },
    [],
  ],
];

for (const [name, spec, expected] of cases) {
  test(`addTokenVolume ${name}`, () => {
    assert.deepEqual(addTokenVolume(spec, identity), expected);
  });
}
