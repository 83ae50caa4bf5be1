import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  annotationVocabulary,
  isRelevantAnnotation,
  matchAnnotationKey,
} from "../../../src/identity/annotations.js";

const vocabulary = annotationVocabulary("eks.amazonaws.com");

describe("matchAnnotationKey", () => {
  const cases: readonly [string, string, ReturnType<typeof matchAnnotationKey>][] = [
    ["reads the exact role-arn key", "eks.amazonaws.com/role-arn", { kind: "exact", name: "role-arn" }],
    [
      "reads the exact skip-containers key",
      "eks.amazonaws.com/skip-containers",
      { kind: "exact", name: "skip-containers" },
    ],
    [
      "flags a typo'd prefix (eks.amazon.com)",
      "eks.amazon.com/role-arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags role-arn without its hyphen",
      "eks.amazonaws.com/rolearn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags role_arn with an underscore",
      "eks.amazonaws.com/role_arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags a wrong case",
      "eks.amazonaws.com/Role-Arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags camelCase",
      "eks.amazonaws.com/roleArn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags an upper-case prefix",
      "EKS.amazonaws.com/role-arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags a key without a prefix",
      "role-arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags an added word",
      "eks.amazonaws.com/iam-role-arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: false },
    ],
    [
      "flags a one-letter typo",
      "eks.amazonaws.com/audiance",
      { kind: "near-miss", name: "audience", foreignPrefix: false },
    ],
    [
      "flags a missing plural s",
      "eks.amazonaws.com/skip-container",
      { kind: "near-miss", name: "skip-containers", foreignPrefix: false },
    ],
    [
      "flags a two-letter typo in a long name",
      "eks.amazonaws.com/token-expriation",
      { kind: "near-miss", name: "token-expiration", foreignPrefix: false },
    ],
    [
      "flags role-arn under an unrelated prefix as foreign",
      "irsa.example.com/role-arn",
      { kind: "near-miss", name: "role-arn", foreignPrefix: true },
    ],
    ["ignores other names under an unrelated prefix", "irsa.example.com/audience", undefined],
    ["ignores unrelated keys under the prefix", "eks.amazonaws.com/compute-type", undefined],
    ["ignores the Fargate profile annotation", "eks.amazonaws.com/fargate-profile", undefined],
    ["ignores kube2iam's role annotation", "iam.amazonaws.com/role", undefined],
    ["ignores kubectl's annotations", "kubectl.kubernetes.io/last-applied-configuration", undefined],
    ["ignores an unrelated short name", "example.com/arn", undefined],
  ];
  for (const [name, key, expected] of cases) {
    test(`${name}: ${key}`, () => {
      assert.deepEqual(matchAnnotationKey(key, vocabulary), expected);
    });
  }

  test("follows a configured prefix", () => {
    const custom = annotationVocabulary("irsa.example.com");
    assert.deepEqual(matchAnnotationKey("irsa.example.com/role-arn", custom), {
      kind: "exact",
      name: "role-arn",
    });
    assert.deepEqual(matchAnnotationKey("eks.amazonaws.com/role-arn", custom), {
      kind: "near-miss",
      name: "role-arn",
      foreignPrefix: true,
    });
    assert.deepEqual(matchAnnotationKey("irsa.example.org/audience", custom), {
      kind: "near-miss",
      name: "audience",
      foreignPrefix: false,
    });
  });

  test("builds a prefix's vocabulary once", () => {
    assert.equal(annotationVocabulary("eks.amazonaws.com"), vocabulary);
    assert.equal(vocabulary.keys.roleArn, "eks.amazonaws.com/role-arn");
  });
});

describe("isRelevantAnnotation", () => {
  const cases: readonly [string, boolean][] = [
    ["eks.amazonaws.com/role-arn", true],
    ["eks.amazonaws.com/audience", true],
    ["eks.amazonaws.com/sts-regional-endpoints", true],
    ["eks.amazonaws.com/token-expiration", true],
    ["eks.amazonaws.com/anything-else", true],
    ["eks.amazon.com/role-arn", true],
    ["eks.amazonaws.com/rolearn", true],
    ["other.example.com/role-arn", true],
    ["role_arn", true],
    ["eks.amazonaws.com", false],
    ["eks.amazonaws.com/", false],
    ["eks.amazonaws.comx/fs-group", false],
    ["kubectl.kubernetes.io/last-applied-configuration", false],
    ["meta.helm.sh/release-name", false],
    ["app.kubernetes.io/name", false],
  ];
  for (const [key, expected] of cases) {
    test(`${expected ? "keeps" : "drops"} ${key}`, () => {
      assert.equal(isRelevantAnnotation(key, "eks.amazonaws.com"), expected);
    });
  }
});
