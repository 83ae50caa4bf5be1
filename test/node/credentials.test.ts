// Pods of users on a real node, with the chart installed from the OCI registry with its default values: the
// kubelet mounts the token the webhook asked for, and the container reads it and the env as the webhook promised.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { PodSpec } from "../e2e/support/pods.js";
import { serviceAccount } from "../e2e/support/pods.js";
import { startNode, type TestNode } from "./support/cluster.js";
import { credentialsInside, hasCredentials, storedCredentials, tokenClaims } from "./support/credentials.js";
import { type PublishedRelease, publishToNode } from "./support/release.js";
import { installWebhook } from "./support/webhook-release.js";

const tokenFile = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const audience = "sts.amazonaws.com";
/** The chart's config.tokenExpiration. */
const expirationSeconds = 86400;

let node: TestNode | undefined;
let published: PublishedRelease | undefined;

before(async () => {
  node = await startNode();
  published = await publishToNode(node);
  await installWebhook(node, published);
});

after(async () => {
  await published?.stop();
  const left = await node?.stop();
  assert.deepEqual(left ?? [], [], "the node left these behind");
});

function started(): TestNode {
  if (node === undefined) throw new Error("the node did not start");
  return node;
}

interface StoredPod {
  metadata: { name: string };
  spec: PodSpec;
  status: { phase: string };
}

/** A Deployment of busybox pods that sleep, as `user`:`user` when given, of the ServiceAccount `account`. */
function deployment(name: string, account: string, replicas: number, user?: number): object {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName: account,
          terminationGracePeriodSeconds: 1,
          ...(user === undefined
            ? {}
            : { securityContext: { runAsUser: user, runAsGroup: user, runAsNonRoot: true } }),
          containers: [
            {
              name: "app",
              image: started().busyboxImage,
              imagePullPolicy: "Never",
              command: ["sleep", "3600"],
            },
          ],
        },
      },
    },
  };
}

async function pods(namespace: string, app: string): Promise<StoredPod[]> {
  const selector = encodeURIComponent(`app=${app}`);
  return (
    await started().client.request<{ items: StoredPod[] }>(
      "GET",
      `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`,
    )
  ).items;
}

async function rolledOut(namespace: string, name: string): Promise<void> {
  await started().kubectl.run(["-n", namespace, "rollout", "status", `deployment/${name}`, "--timeout=120s"]);
}

test("a user's Deployment whose ServiceAccount has a role runs, and its non-root container reads the kubelet-mounted token: audience, expiry and env as promised", async (t) => {
  const node = started();
  const namespace = "shop";
  const roleArn = "arn:aws:iam::111122223333:role/orders";
  await node.createNamespace(namespace);
  await node.kubectl.run(["-n", namespace, "apply", "-f", "-"], {
    input: JSON.stringify(serviceAccount("orders", { "eks.amazonaws.com/role-arn": roleArn })),
  });
  await node.kubectl.run(["-n", namespace, "apply", "-f", "-"], {
    input: JSON.stringify(deployment("orders", "orders", 2, 1000)),
  });
  await rolledOut(namespace, "orders");

  const running = await pods(namespace, "orders");
  assert.deepEqual(
    running.map((p) => p.status.phase),
    ["Running", "Running"],
  );
  for (const stored of running) {
    const name = stored.metadata.name;
    assert.deepEqual(storedCredentials(stored.spec), { roleArn, tokenFile, audience, expirationSeconds });
    const inside = await credentialsInside(node, namespace, name);
    assert.deepEqual(
      { uid: inside.uid, roleArn: inside.roleArn, tokenFile: inside.tokenFile },
      { uid: "1000", roleArn, tokenFile },
      `${name}: env as seen by the container`,
    );
    const claims = tokenClaims(inside.token);
    t.diagnostic(
      `${name}: token read by uid 1000, aud ${claims.aud.join(",")}, lifetime ${claims.exp - claims.iat} s`,
    );
    assert.deepEqual(
      {
        iss: claims.iss,
        sub: claims.sub,
        aud: claims.aud,
        lifetime: claims.exp - claims.iat,
        pod: claims["kubernetes.io"]?.pod?.name,
      },
      {
        iss: node.issuer,
        sub: `system:serviceaccount:${namespace}:orders`,
        aud: [audience],
        lifetime: expirationSeconds,
        pod: name,
      },
    );
    assert.ok(
      claims.exp * 1000 > Date.now() + (expirationSeconds - 600) * 1000,
      "a fresh token, not an old one",
    );
  }
});

test("a ServiceAccount and its Deployment in one kubectl apply: every pod has credentials", async () => {
  const node = started();
  const namespace = "one-apply";
  const roleArn = "arn:aws:iam::111122223333:role/one-apply";
  await node.createNamespace(namespace);
  // The ServiceAccount is new to the webhook's cache when the first pods are reviewed a moment later.
  await node.kubectl.run(["-n", namespace, "apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        serviceAccount("reports", { "eks.amazonaws.com/role-arn": roleArn }),
        deployment("reports", "reports", 3),
      ],
    }),
  });
  await rolledOut(namespace, "reports");
  const created = await pods(namespace, "reports");
  assert.equal(created.length, 3);
  assert.deepEqual(
    created.map((p) => storedCredentials(p.spec)),
    created.map(() => ({ roleArn, tokenFile, audience, expirationSeconds })),
  );
  const inside = await credentialsInside(node, namespace, created[0]?.metadata.name ?? "");
  assert.deepEqual(tokenClaims(inside.token).aud, [audience]);
});

test("a pod of a role-annotated ServiceAccount in kube-system gets credentials with the chart's defaults", async (t) => {
  const node = started();
  const namespace = "kube-system";
  const roleArn = "arn:aws:iam::111122223333:role/aws-load-balancer-controller";
  t.after(async () => {
    await node.kubectl
      .run([
        "-n",
        namespace,
        "delete",
        "deployment/aws-load-balancer-controller",
        "serviceaccount/aws-load-balancer-controller",
        "--wait=true",
      ])
      .catch(() => "");
  });
  await node.kubectl.run(["-n", namespace, "apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        serviceAccount("aws-load-balancer-controller", { "eks.amazonaws.com/role-arn": roleArn }),
        deployment("aws-load-balancer-controller", "aws-load-balancer-controller", 1),
      ],
    }),
  });
  await rolledOut(namespace, "aws-load-balancer-controller");
  const [stored] = await pods(namespace, "aws-load-balancer-controller");
  assert.ok(stored !== undefined);
  assert.equal(
    hasCredentials(stored.spec),
    true,
    `kube-system pod ${stored.metadata.name} has no credentials`,
  );
  assert.deepEqual(storedCredentials(stored.spec), { roleArn, tokenFile, audience, expirationSeconds });
  const inside = await credentialsInside(node, namespace, stored.metadata.name);
  assert.equal(inside.roleArn, roleArn);
});
