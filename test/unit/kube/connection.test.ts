import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { loadKubeConnection } from "../../../src/kube/connection.js";
import { KubeClient } from "../../../src/kube/request.js";
import { connectionFromSettings, rereadAfterMs } from "../../../src/kube/settings.js";
import { type Pair, selfSignedPair } from "../../server/support/secret-volume.js";

const base64 = (text: string) => Buffer.from(text).toString("base64");

describe("loadKubeConnection", () => {
  let dir: string;
  let pair: Pair;
  let server: Server;
  let origin: string;
  const seen: IncomingHttpHeaders[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kube-connection-"));
    pair = await selfSignedPair();
    server = createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"kind":"NamespaceList","items":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes a kubeconfig for `origin` with the given user and returns its path. */
  async function writeKubeconfig(name: string, user: Record<string, unknown>): Promise<string> {
    const path = join(dir, name);
    await writeFile(
      path,
      stringify({
        clusters: [
          { name: "k", cluster: { server: origin, "certificate-authority-data": base64(pair.certPem) } },
        ],
        users: [{ name: "u", user }],
        contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
        "current-context": "c",
      }),
    );
    return path;
  }

  it("turns a kubeconfig's files into request options", async () => {
    await writeFile(join(dir, "ca.crt"), "CA");
    await writeFile(join(dir, "token"), "file-token\n");
    await writeFile(join(dir, "client.crt"), "CERT");
    await writeFile(join(dir, "client.key"), "KEY");
    const path = join(dir, "files.kubeconfig");
    await writeFile(
      path,
      stringify({
        clusters: [
          {
            name: "k",
            cluster: {
              server: "https://api.example:6443",
              "certificate-authority": "ca.crt",
              "insecure-skip-tls-verify": true,
              "tls-server-name": "kubernetes",
            },
          },
        ],
        users: [
          {
            name: "u",
            user: { tokenFile: "token", "client-certificate": "client.crt", "client-key": "client.key" },
          },
        ],
        contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
        "current-context": "c",
      }),
    );
    const connection = await loadKubeConnection(path, { env: {} });
    assert.equal(connection.server, "https://api.example:6443");
    assert.equal(connection.origin, `kubeconfig ${path}`);
    assert.deepEqual(await connection.requestOptions(), {
      ca: Buffer.from("CA"),
      cert: Buffer.from("CERT"),
      key: Buffer.from("KEY"),
      rejectUnauthorized: false,
      servername: "kubernetes",
      headers: { authorization: "Bearer file-token" },
    });
  });

  it("reaches a TLS API server with the kubeconfig's CA and token", async () => {
    const connection = await loadKubeConnection(
      await writeKubeconfig("token.kubeconfig", { token: "t0ken" }),
      {
        env: {},
      },
    );
    seen.length = 0;
    const answer = await new KubeClient(connection).send({ method: "GET", path: "/api/v1/namespaces" });
    assert.equal(answer.status, 200);
    assert.equal(seen[0]?.authorization, "Bearer t0ken");
  });

  it("hands an exec plugin to client-node, which runs it for the token", async () => {
    const plugin = join(dir, "credential.mjs");
    await writeFile(
      plugin,
      `process.stdout.write(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "exec-token" } }));\n`,
    );
    const path = await writeKubeconfig("exec.kubeconfig", {
      exec: { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: [plugin] },
    });
    const connection = await loadKubeConnection(path, { env: {} });
    assert.equal(
      connection.origin,
      `kubeconfig ${path} through @kubernetes/client-node (user "u" runs an exec plugin)`,
    );
    assert.equal(connection.server, origin);
    seen.length = 0;
    const answer = await new KubeClient(connection).send({ method: "GET", path: "/api/v1/namespaces" });
    assert.equal(answer.status, 200);
    assert.equal(seen[0]?.authorization, "Bearer exec-token");
  });

  it("reads the in-cluster configuration from the Service environment and the pod's ServiceAccount files", async () => {
    const serviceAccount = await mkdtemp(join(dir, "serviceaccount-"));
    await writeFile(join(serviceAccount, "token"), "pod-token");
    await writeFile(join(serviceAccount, "ca.crt"), "CLUSTER CA");
    const env = { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" };
    const connection = await loadKubeConnection(undefined, { env, serviceAccountDirectory: serviceAccount });
    assert.equal(connection.server, "https://[fd00::1]:443");
    assert.equal(connection.origin, "in-cluster");
    assert.deepEqual(await connection.requestOptions(), {
      ca: Buffer.from("CLUSTER CA"),
      headers: { authorization: "Bearer pod-token" },
    });
  });

  it("refuses to guess without a kubeconfig outside a cluster", async () => {
    await assert.rejects(loadKubeConnection(undefined, { env: {} }), {
      message:
        "no --kubeconfig and not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset): " +
        "pass --kubeconfig, or --service-accounts-file to run without a cluster",
    });
  });

  it("names an unreadable kubeconfig, and an unreadable file it names", async () => {
    const missing = join(dir, "absent.kubeconfig");
    await assert.rejects(loadKubeConnection(missing, { env: {} }), {
      message: `cannot read kubeconfig ${missing} (ENOENT)`,
    });
    const path = await writeKubeconfig("missing-key.kubeconfig", {
      "client-certificate-data": base64("CERT"),
      "client-key": "absent.key",
    });
    await assert.rejects(loadKubeConnection(path, { env: {} }), {
      message: `cannot read user "u" client-key ${join(dir, "absent.key")} (ENOENT)`,
    });
  });

  it("names the missing in-cluster token", async () => {
    const empty = await mkdtemp(join(dir, "empty-"));
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    await assert.rejects(loadKubeConnection(undefined, { env, serviceAccountDirectory: empty }), {
      message: new RegExp(
        `^cannot read the in-cluster (CA ${empty}/ca\\.crt|ServiceAccount token ${empty}/token) \\(ENOENT\\)$`,
      ),
    });
  });
});

describe("connectionFromSettings", () => {
  it("reads a rotated token file again a minute after the last read, and keeps the last token while it cannot", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kube-token-"));
    try {
      const file = join(dir, "token");
      await writeFile(file, "first");
      let now = 1_000_000;
      const connection = await connectionFromSettings(
        { server: "https://api.example", origin: "test", token: { file, what: "token" } },
        () => now,
      );
      const bearer = async () => (await connection.requestOptions()).headers;
      await writeFile(file, "second");
      now += rereadAfterMs - 1;
      assert.deepEqual(await bearer(), { authorization: "Bearer first" });
      now += 1;
      assert.deepEqual(await bearer(), { authorization: "Bearer second" });
      await rm(file);
      now += rereadAfterMs;
      assert.deepEqual(await bearer(), { authorization: "Bearer second" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
