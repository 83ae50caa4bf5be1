// Smoke test of the e2e harness: a real API server stores pods, issues ServiceAccount tokens and survives a restart.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt } from "jose";
import { startCluster, type TestCluster } from "./cluster.js";

interface Pod {
  metadata: { name: string; namespace: string; uid: string };
  spec: { serviceAccountName: string };
}

interface TokenRequest {
  status: { token: string; expirationTimestamp: string };
}

const namespace = "smoke";
const serviceAccount = "app";
const podManifest = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "app", namespace },
  spec: {
    serviceAccountName: serviceAccount,
    containers: [{ name: "app", image: "registry.example.test/app:1" }],
  },
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

test("creates a pod in a namespace that has only the harness-made default ServiceAccount", async () => {
  await cluster.createNamespace(namespace);
  await cluster.client.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: serviceAccount },
  });
  const created = await cluster.client.request<Pod>(
    "POST",
    `/api/v1/namespaces/${namespace}/pods`,
    podManifest,
  );
  const read = await cluster.client.request<Pod>("GET", `/api/v1/namespaces/${namespace}/pods/app`);
  assert.equal(read.metadata.uid, created.metadata.uid);
  assert.equal(read.spec.serviceAccountName, serviceAccount);
});

test("issues a ServiceAccount token for sts.amazonaws.com from the configured issuer", async () => {
  const tokenRequest = await cluster.client.request<TokenRequest>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: ["sts.amazonaws.com"], expirationSeconds: 3600 },
    },
  );
  const claims = decodeJwt(tokenRequest.status.token);
  assert.equal(claims.iss, "https://issuer.example.test");
  assert.deepEqual(claims.aud, ["sts.amazonaws.com"]);
  assert.equal(claims.sub, `system:serviceaccount:${namespace}:${serviceAccount}`);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600);
});

test("authenticates a token for its issuer, and not one for sts.amazonaws.com (docs/self-hosted.md's --api-audiences)", async () => {
  const own = "audiences";
  await cluster.createNamespace(own);
  const authenticated = async (audience: string): Promise<boolean> => {
    const { status } = await cluster.client.request<TokenRequest>(
      "POST",
      `/api/v1/namespaces/${own}/serviceaccounts/default/token`,
      { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [audience] } },
    );
    const review = await cluster.client.request<{ status: { authenticated?: boolean } }>(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: status.token } },
    );
    return review.status.authenticated === true;
  };
  assert.equal(await authenticated(cluster.issuer), true);
  assert.equal(await authenticated("sts.amazonaws.com"), false);
});

test("keeps the pod across an API server restart on the same port", async () => {
  const beforeRestart = await cluster.client.request<Pod>("GET", `/api/v1/namespaces/${namespace}/pods/app`);
  const firstPid = cluster.pids().apiServer;
  await cluster.stopApiServer();
  assert.equal(cluster.pids().apiServer, undefined);
  await cluster.startApiServer();
  assert.notEqual(cluster.pids().apiServer, firstPid);
  const afterRestart = await cluster.client.request<Pod>("GET", `/api/v1/namespaces/${namespace}/pods/app`);
  assert.equal(afterRestart.metadata.uid, beforeRestart.metadata.uid);
});

test("stop() ends both processes", async () => {
  const { etcd, apiServer } = cluster.pids();
  assert.ok(etcd !== undefined && apiServer !== undefined, "both processes run before stop()");
  await cluster.stop();
  assert.deepEqual(cluster.pids(), { etcd: undefined, apiServer: undefined });
  assert.equal(isAlive(etcd), false);
  assert.equal(isAlive(apiServer), false);
});
