// What the webhook must answer to examples/review.json (the README's quick-start review), for every test that
// sends it to a running server: the package installed from its tarball, the image.
import assert from "node:assert/strict";

const roleArn = "arn:aws:iam::111122223333:role/s3-reader";
const tokenDir = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

/** The patch for examples/review.json with examples/serviceaccounts.yaml and the default flags. */
export const exampleReviewPatch = [
  {
    op: "add",
    path: "/spec/volumes",
    value: [
      {
        name: "aws-iam-token",
        projected: {
          sources: [
            {
              serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" },
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
      { name: "AWS_ROLE_ARN", value: roleArn },
      { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: `${tokenDir}/token` },
    ],
  },
  {
    op: "add",
    path: "/spec/containers/0/volumeMounts",
    value: [{ name: "aws-iam-token", readOnly: true, mountPath: tokenDir }],
  },
];

/** Asserts that `body`, a /mutate answer to examples/review.json, admits the pod with exactly that patch. */
export function assertExampleReviewAnswer(body: string): void {
  const { response } = JSON.parse(body) as {
    response: { uid: string; allowed: boolean; patchType?: string; patch?: string };
  };
  assert.equal(response.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, "JSONPatch");
  assert.deepEqual(
    JSON.parse(Buffer.from(response.patch ?? "", "base64").toString("utf8")),
    exampleReviewPatch,
  );
}
