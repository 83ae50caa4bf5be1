// The whole chain on a real node: the chart's webhook injects a web identity, the kubelet mounts the token, the AWS
// SDK for JavaScript v3 in a pod trades it at an STS that verifies it against the cluster's issuer (MinIO), and
// writes and reads an object with the session it got. A token for another audience is refused.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { serviceAccount } from "../e2e/support/pods.js";
import { startNode, type TestNode } from "./support/cluster.js";
import { ensureMinioBinary, type Minio, startMinio } from "./support/minio.js";
import { createBucket, getObject, putObject, type S3Target } from "./support/minio-s3.js";
import { assumeRoleWithWebIdentity } from "./support/minio-sts.js";
import { type PublishedRelease, publishToNode } from "./support/release.js";
import { builtSdkAppImage } from "./support/sdk-image.js";
import { installWebhook } from "./support/webhook-release.js";

/** The chart's default audience, and so the OpenID client MinIO accepts. */
const audience = "sts.amazonaws.com";
const tokenFile = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const namespace = "uploads";
const bucket = "uploads";

let node: TestNode | undefined;
let published: PublishedRelease | undefined;
let minio: Minio | undefined;
let sdkAppImage = "";
/** How long each step of the setup took, for the first test's diagnostics. */
const setupMs: Record<string, number> = {};

async function timed<T>(step: string, run: () => Promise<T>): Promise<T> {
  const began = Date.now();
  const result = await run();
  setupMs[step] = Date.now() - began;
  return result;
}

before(async () => {
  const [minioBinary, image] = await Promise.all([ensureMinioBinary(), builtSdkAppImage()]);
  sdkAppImage = image;
  const started = await timed("node", startNode);
  node = started;
  published = await timed("publish", () => publishToNode(started));
  const release = published;
  await timed("install", () => installWebhook(started, release));
  // The pods reach MinIO at the node's address; MinIO reaches the issuer (the API server) there too.
  minio = await timed("minio", () =>
    startMinio({
      binary: minioBinary,
      dir: started.workDir,
      host: started.network.nodeIp,
      openIdConfigUrl: `${started.issuer}/.well-known/openid-configuration`,
      clientId: audience,
      caCertPem: started.caCertPem,
    }),
  );
  await timed("import", () => started.importImage(sdkAppImage));
  await started.createNamespace(namespace);
  await createBucket(rootTarget(), bucket);
});

after(async () => {
  await minio?.stop();
  await published?.stop();
  const left = await node?.stop();
  assert.deepEqual(left ?? [], [], "the node left these behind");
});

function started(): { node: TestNode; minio: Minio } {
  if (node === undefined || minio === undefined) throw new Error("the node or MinIO did not start");
  return { node, minio };
}

function rootTarget(): S3Target {
  const { minio } = started();
  return { endpoint: minio.endpoint, region: minio.region, credentials: minio.root };
}

async function createServiceAccount(name: string, annotations: Record<string, string>): Promise<void> {
  await started().node.kubectl.run(["-n", namespace, "apply", "-f", "-"], {
    input: JSON.stringify(serviceAccount(name, annotations)),
  });
}

/**
 * A pod that runs the SDK app as ServiceAccount `account`. The test sets only the STS and S3 endpoints and the
 * region: the role and the token come from the webhook.
 */
function sdkAppPod(name: string, account: string, key: string, body: string): object {
  const { minio } = started();
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      serviceAccountName: account,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "app",
          image: sdkAppImage,
          imagePullPolicy: "Never",
          args: [bucket, key, body],
          env: [
            { name: "AWS_ENDPOINT_URL_STS", value: minio.endpoint },
            { name: "AWS_ENDPOINT_URL_S3", value: minio.endpoint },
            { name: "AWS_REGION", value: minio.region },
          ],
        },
      ],
    },
  };
}

async function tokenFor(account: string, audiences: string[]): Promise<string> {
  const answer = await started().node.client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences, expirationSeconds: 600 },
    },
  );
  return answer.status.token;
}

/** MinIO's answer when a token's `aud` (and `azp`) lack its OpenID client ID. */
const wrongAudience = {
  code: "InvalidParameterValue",
  message: "STS JWT Token has `azp` claim invalid, `azp` must match configured OpenID Client ID",
};

test("a pod running the AWS SDK for JavaScript v3 with only the injected identity and the STS and S3 endpoints writes and reads an object", async (t) => {
  const { node, minio } = started();
  await createServiceAccount("uploader", { "eks.amazonaws.com/role-arn": minio.roleArn });
  const key = "reports/first.txt";
  const body = `written from a pod ${randomBytes(6).toString("hex")}`;

  const run = await timed("pod", () => node.runPod(namespace, sdkAppPod("uploader", "uploader", key, body)));
  t.diagnostic(`SDK app: ${run.logs.trim()}`);
  t.diagnostic(`setup and first pod, ms: ${JSON.stringify(setupMs)}`);

  assert.equal(run.phase, "Succeeded", `the SDK app failed: ${run.logs}`);
  const printed = JSON.parse(run.logs.trim().split("\n").at(-1) ?? "") as Record<string, string>;
  assert.deepEqual(
    { roleArn: printed.roleArn, tokenFile: printed.tokenFile, body: printed.body },
    { roleArn: minio.roleArn, tokenFile, body },
  );
  assert.match(printed.etag ?? "", /^"[0-9a-f]{32}"$/);
  assert.equal(await getObject(rootTarget(), bucket, key), body, "the object as MinIO's root user reads it");
});

test("a pod whose ServiceAccount asks for another audience is refused by the STS and writes nothing", async () => {
  const { node, minio } = started();
  await createServiceAccount("elsewhere", {
    "eks.amazonaws.com/role-arn": minio.roleArn,
    "eks.amazonaws.com/audience": "not-sts",
  });
  const key = "reports/refused.txt";

  const run = await node.runPod(namespace, sdkAppPod("elsewhere", "elsewhere", key, "never written"));

  assert.equal(run.phase, "Failed", `the SDK app should have been refused: ${run.logs}`);
  const printed = JSON.parse(run.logs.trim().split("\n").at(-1) ?? "") as Record<string, string>;
  assert.deepEqual(printed, { error: wrongAudience.code, message: wrongAudience.message });
  await assert.rejects(getObject(rootTarget(), bucket, key), /HTTP 404: .*NoSuchKey/s);
});

test("the STS verifies ServiceAccount tokens: the issuer's sts.amazonaws.com token is accepted, another audience or a forged signature is refused", async () => {
  const { minio } = started();
  await createServiceAccount("direct", {});
  const call = (token: string) =>
    assumeRoleWithWebIdentity({
      endpoint: minio.endpoint,
      roleArn: minio.roleArn,
      token,
      sessionName: "direct",
    });

  const accepted = await call(await tokenFor("direct", [audience]));
  assert.ok(accepted.assumed, `the issuer's own token was refused: ${JSON.stringify(accepted)}`);
  const session: S3Target = {
    endpoint: minio.endpoint,
    region: minio.region,
    credentials: accepted.credentials,
  };
  await putObject(session, bucket, "direct/session.txt", "from the session");
  assert.equal(await getObject(rootTarget(), bucket, "direct/session.txt"), "from the session");

  const otherAudience = await call(await tokenFor("direct", ["not-sts"]));
  assert.deepEqual(otherAudience, { assumed: false, status: 400, ...wrongAudience });

  // The right audience, but the signature of another token: only a verified signature makes a token.
  const [header, payload] = (await tokenFor("direct", [audience])).split(".");
  const [, , foreignSignature] = (await tokenFor("direct", ["not-sts"])).split(".");
  const forged = await call(`${header}.${payload}.${foreignSignature}`);
  assert.deepEqual(forged, {
    assumed: false,
    status: 400,
    code: "InvalidParameterValue",
    message: "crypto/rsa: verification error",
  });
});
