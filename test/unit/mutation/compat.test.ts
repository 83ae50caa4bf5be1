// Drop-in compatibility: the reference webhook's golden cases, compared as resulting pods (see the cases' README).

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Operation } from "fast-json-patch";
import { parse as parseYaml } from "yaml";
import { type DecisionReason, decide } from "../../../src/mutation/decide.js";
import { defaultEngineOptions, type EngineOptions } from "../../../src/mutation/options.js";
import type { Pod, ServiceAccountRecord } from "../../../src/mutation/pod.js";
import { applyToPod } from "./apply.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
// The reference's handler fixtures, copied unchanged with its LICENSE and NOTICE, so a plain clone runs them.
const compatDir = path.join(repoRoot, "test/fixtures/compat/aws-pod-identity-webhook");
// The workshop's copy, where it sits beside the clone: ours must not drift from it.
const sharedCompatDir = path.resolve(repoRoot, "../shared/compat/aws-pod-identity-webhook");
const testing = "testing.eks.amazonaws.com/";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type TestPod = Pod & { metadata: { annotations: Record<string, string> } };

/**
 * Cases where we add nothing on purpose, by case file: why, and the decision we make instead. The
 * reference's patch would give the pod env naming a file that is not its web identity token.
 */
const refusedOnPurpose: Readonly<
  Record<
    string,
    { readonly why: string; readonly reason: DecisionReason; readonly warnings: readonly string[] }
  >
> = {
  "rawPodHasVolumeMount.pod.yaml": {
    why: "its aws-iam-token volume is a hostPath, not the token; the reference points AWS_WEB_IDENTITY_TOKEN_FILE into it, we add nothing and warn",
    reason: "token-volume-conflict",
    warnings: [
      "the pod's volume aws-iam-token is not a projected ServiceAccount token for audience \"sts.amazonaws.com\" at path token; pod admitted without AWS credentials. Rename that volume: aws-iam-token is the webhook's",
    ],
  },
};

/** The reference only logs these; we also tell the user (AdmissionResponse.warnings). */
const expectedWarnings: Readonly<Record<string, readonly string[]>> = {
  "rawPodMinTokenExpiration.pod.yaml": [
    'pod annotation eks.amazonaws.com/token-expiration "0" is outside 600..86400 seconds; using 600',
  ],
};

const containerCredentialsReason =
  "EKS Pod Identity needs the EKS Pod Identity Agent and the EKS association API; this webhook serves IRSA on any cluster";

function caseFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".pod.yaml")) files.push(path.relative(compatDir, full));
    }
  };
  walk(compatDir);
  return files.sort();
}

/** The ServiceAccount and flags a case sets up, as the reference's handler_pod_test.go does. */
function setUp(pod: TestPod): { serviceAccount: ServiceAccountRecord; options: EngineOptions } {
  const setting = (name: string) => pod.metadata.annotations[`${testing}${name}`];
  const annotations: Record<string, string> = {};
  const saAnnotations: Record<string, string> = {
    "serviceAccount/roleArn": "role-arn",
    "serviceAccount/audience": "audience",
    "serviceAccount/sts-regional-endpoints": "sts-regional-endpoints",
    "serviceAccount/token-expiration": "token-expiration",
  };
  for (const [from, to] of Object.entries(saAnnotations)) {
    const value = setting(from);
    if (value !== undefined) annotations[`eks.amazonaws.com/${to}`] = value;
  }
  // handler/* are the reference's flags (WithRegionalSTS, WithExpiration, ...): the ServiceAccount's
  // annotations override them, as rawPodNoSTSAnnotationOverride shows.
  const injectSts = setting("handler/injectSTS");
  const expiration = setting("handler/expiration");
  const region = setting("handler/region");
  const mountPath = setting("handler/mountPath");
  const options: EngineOptions = {
    ...defaultEngineOptions,
    ...(injectSts === undefined ? {} : { stsRegionalEndpoint: injectSts === "true" }),
    ...(expiration === undefined ? {} : { defaultExpiration: Number(expiration) }),
    ...(region === undefined ? {} : { region }),
    ...(mountPath === undefined ? {} : { mountPath }),
  };
  return { serviceAccount: { namespace: "default", name: "default", annotations }, options };
}

/** Kubernetes-object equality: null, {} and absent alike; env, volumeMounts, volumes by name; no testing annotations. */
function normalize(value: Json, key = ""): Json | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) {
    const items = value.map((item) => normalize(item)).filter((item): item is Json => item !== undefined);
    if (key === "env" || key === "volumeMounts" || key === "volumes") {
      items.sort((a, b) =>
        String((a as { name?: string }).name).localeCompare(String((b as { name?: string }).name)),
      );
    }
    return items;
  }
  if (typeof value === "object") {
    const result: Record<string, Json> = {};
    for (const [childKey, child] of Object.entries(value)) {
      if (key === "annotations" && childKey.startsWith(testing)) continue;
      const normalized = normalize(child, childKey);
      if (normalized !== undefined) result[childKey] = normalized;
    }
    return Object.keys(result).length === 0 ? undefined : result;
  }
  return value;
}

function readCase(file: string): TestPod {
  // rawPodWithInitContainer repeats serviceAccountName; Go's YAML decoder, like this option, keeps the last.
  return parseYaml(readFileSync(path.join(compatDir, file), "utf8"), { uniqueKeys: false }) as TestPod;
}

describe("compatibility with aws/amazon-eks-pod-identity-webhook", () => {
  if (!existsSync(compatDir)) {
    test("finds the reference's golden cases", () => {
      assert.fail(`no compat cases at ${compatDir}`);
    });
    return;
  }
  const files = caseFiles();

  test("finds the reference's golden cases", () => {
    assert.ok(files.length >= 20, `expected the reference's cases in ${compatDir}, found ${files.length}`);
  });

  for (const file of files.filter((name) => !name.startsWith("containercredentials/"))) {
    const pod = readCase(file);
    const skip = pod.metadata.annotations[`${testing}skip`] === "true";
    const refused = refusedOnPurpose[path.basename(file)];
    const title =
      refused === undefined ? `matches ${file}` : `differs on purpose for ${file}: ${refused.why}`;
    test(title, { skip }, () => {
      const { serviceAccount, options } = setUp(pod);
      const decision = decide(pod, serviceAccount, options);
      if (refused !== undefined) {
        assert.deepEqual(
          [decision.patch, decision.reason, decision.warnings],
          [[], refused.reason, refused.warnings],
        );
        return;
      }
      const expectedPatch = JSON.parse(
        pod.metadata.annotations[`${testing}expectedPatch`] ?? "[]",
      ) as Operation[];
      const theirs = applyToPod(pod, expectedPatch) as Json;
      const ours = applyToPod(pod, decision.patch) as Json;
      assert.deepEqual(normalize(ours), normalize(theirs));
      assert.equal(decision.reason, expectedPatch.length === 0 ? "no-role-arn" : "mutated");
      assert.deepEqual(decision.warnings, expectedWarnings[file] ?? []);
    });
  }

  describe(`differs on purpose for containercredentials/: ${containerCredentialsReason}`, () => {
    const irsaPatches: Readonly<Record<string, readonly Operation[]>> = {
      "containercredentials/rawPodWithRoleArn.pod.yaml": [
        {
          op: "add",
          path: "/spec/volumes",
          value: [
            {
              name: "aws-iam-token",
              projected: {
                sources: [
                  {
                    serviceAccountToken: {
                      audience: "sts.amazonaws.com",
                      expirationSeconds: 10000,
                      path: "token",
                    },
                  },
                ],
              },
            },
          ],
        },
        {
          op: "add",
          path: "/spec/containers/0/env",
          value: [
            { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
            { name: "AWS_ROLE_ARN", value: "arn:aws-cn:iam::111122223333:role/s3-reader" },
            {
              name: "AWS_WEB_IDENTITY_TOKEN_FILE",
              value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            },
          ],
        },
        {
          op: "add",
          path: "/spec/containers/0/volumeMounts",
          value: [
            {
              name: "aws-iam-token",
              readOnly: true,
              mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
            },
          ],
        },
      ],
    };
    const files = caseFiles().filter((name) => name.startsWith("containercredentials/"));
    test("finds the container credentials cases", () => assert.ok(files.length > 0));
    for (const file of files) {
      const irsa = irsaPatches[file];
      test(`${irsa === undefined ? "leaves alone" : "gives only the IRSA identity to"} ${file}`, () => {
        const pod = readCase(file);
        const { serviceAccount, options } = setUp(pod);
        const decision = decide(pod, serviceAccount, options);
        assert.deepEqual(decision.patch, irsa ?? []);
        assert.equal(decision.reason, irsa === undefined ? "no-role-arn" : "mutated");
      });
    }
  });
});

/** Every file under dir, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("the copied reference cases", {
  skip: existsSync(sharedCompatDir) ? false : "no ../shared beside the clone",
}, () => {
  test("are the workshop's copy, file for file and byte for byte", () => {
    const ours = filesUnder(compatDir);
    assert.deepEqual(ours, filesUnder(sharedCompatDir));
    for (const file of ours) {
      assert.ok(
        readFileSync(path.join(compatDir, file)).equals(readFileSync(path.join(sharedCompatDir, file))),
        `${file} differs from ${sharedCompatDir}`,
      );
    }
  });
});
