// The node harness itself: the node comes up Ready, runs a pod that resolves a Service through the cluster DNS,
// publishes its issuer's discovery to anyone, and stops leaving nothing on the host.
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startNode, type TestNode } from "./support/cluster.js";

let node: TestNode | undefined;
let stopped = false;

before(async () => {
  node = await startNode();
});

after(async () => {
  if (!stopped) await node?.stop();
});

function started(): TestNode {
  if (node === undefined) throw new Error("the node did not start");
  return node;
}

/** GET url verified against caPem, without a client certificate (as an STS outside the cluster). */
function anonymousGet(url: string, caPem: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once("error", reject);
    req.end();
  });
}

test("the node is Ready with the kubelet, containerd and kube-proxy of the build", async (t) => {
  const { client, nodeName, startedInMs } = started();
  t.diagnostic(`node Ready ${startedInMs} ms after startNode()`);
  const stored = await client.request<{
    status: {
      nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
      addresses: { type: string; address: string }[];
    };
  }>("GET", `/api/v1/nodes/${nodeName}`);
  assert.match(stored.status.nodeInfo.kubeletVersion, /^v1\.\d+\.\d+$/);
  assert.match(stored.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/1\./);
  assert.deepEqual(
    stored.status.addresses.find((a) => a.type === "InternalIP")?.address,
    started().network.nodeIp,
  );
});

test("a pod resolves the kubernetes Service through the cluster DNS and reaches the API server at its ClusterIP", async () => {
  const node = started();
  const { phase, logs } = await node.runPod("default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "dns-check" },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      containers: [
        {
          name: "check",
          image: node.busyboxImage,
          imagePullPolicy: "Never",
          command: [
            "sh",
            "-c",
            "nslookup -type=a kubernetes.default.svc.cluster.local; nc -w 5 kubernetes.default.svc 443 </dev/null && echo connected",
          ],
        },
      ],
    },
  });
  assert.equal(phase, "Succeeded", logs);
  assert.match(logs, /Name:\s*kubernetes\.default\.svc\.cluster\.local\s+Address:\s*10\.96\.0\.1\s/);
  // The short name goes through the pod's search path; the connection through kube-proxy's rules.
  assert.match(logs, /^connected$/m);
});

test("the issuer is the API server itself, whose discovery document anyone can read", async () => {
  const node = started();
  const discovery = await anonymousGet(`${node.issuer}/.well-known/openid-configuration`, node.caCertPem);
  assert.equal(discovery.status, 200, discovery.body);
  const document = JSON.parse(discovery.body) as { issuer: string; jwks_uri: string };
  assert.equal(document.issuer, node.issuer);
  const keys = await anonymousGet(document.jwks_uri, node.caCertPem);
  assert.equal(keys.status, 200, keys.body);
  assert.equal((JSON.parse(keys.body) as { keys: unknown[] }).keys.length, 1);
});

test("stopping the node with a pod running leaves no process, mount, cgroup or state behind", async (t) => {
  const node = started();
  await node.client.request("POST", "/api/v1/namespaces/default/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "still-running" },
    spec: {
      containers: [
        { name: "app", image: node.busyboxImage, imagePullPolicy: "Never", command: ["sleep", "3600"] },
      ],
    },
  });
  const deadline = Date.now() + 60_000;
  while (
    (
      await node.client.request<{ status: { phase?: string } }>(
        "GET",
        "/api/v1/namespaces/default/pods/still-running",
      )
    ).status.phase !== "Running"
  ) {
    if (Date.now() > deadline) assert.fail("pod still-running did not run within 60 s");
    await sleep(200);
  }
  const began = Date.now();
  stopped = true;
  const left = await node.stop();
  t.diagnostic(`node stopped in ${Date.now() - began} ms`);
  assert.deepEqual(left, []);
});
