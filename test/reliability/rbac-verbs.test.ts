// The requiredPermissions tables tell the truth: every request the API clients make, recorded by a mock kube API
// as RBAC verbs, is declared, and every declared verb is used (the chart test then holds the chart to the tables).

import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { requiredPermissions as certificatePermissions, KubeCertStore } from "../../src/certs/kube-store.js";
import type { KubeConnection } from "../../src/kube/connection.js";
import { connectionFromSettings } from "../../src/kube/settings.js";
import {
  createKubeServiceAccountApi,
  requiredPermissions as serviceAccountPermissions,
} from "../../src/serviceaccounts/kube-api.js";
import { selfSignedPair } from "../server/support/secret-volume.js";

/** `group/resource verb`, e.g. `/secrets patch` or `admissionregistration.k8s.io/mutatingwebhookconfigurations watch`. */
function rbacRequest(req: IncomingMessage): string {
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  const parts = url.pathname.split("/").filter((part) => part !== "");
  // /api/v1/[namespaces/NS/]RESOURCE[/NAME] or /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME]
  const group = parts[0] === "api" ? "" : (parts[1] ?? "");
  let rest = parts.slice(parts[0] === "api" ? 2 : 3);
  if (rest[0] === "namespaces" && rest.length > 2) rest = rest.slice(2);
  const [resource, name] = rest;
  const watching = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
  const verb =
    req.method === "GET"
      ? watching
        ? "watch"
        : name === undefined
          ? "list"
          : "get"
      : ({ POST: "create", PATCH: "patch", PUT: "update", DELETE: "delete" }[req.method ?? ""] ?? req.method);
  return `${group}/${resource} ${verb}`;
}

function declared(permissions: readonly { apiGroup: string; resource: string; verbs: readonly string[] }[]) {
  return permissions.flatMap((p) => p.verbs.map((verb) => `${p.apiGroup}/${p.resource} ${verb}`)).sort();
}

const secret = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "tls", namespace: "iam", resourceVersion: "7" },
  data: { "tls.crt": Buffer.from("x").toString("base64") },
};
const webhookConfiguration = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "MutatingWebhookConfiguration",
  metadata: { name: "wiw", resourceVersion: "9" },
  webhooks: [
    {
      name: "pod-identity.web-identity-webhook.io",
      clientConfig: { service: { name: "wiw", namespace: "iam" } },
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
    },
  ],
};

function answer(req: IncomingMessage, res: ServerResponse): void {
  const request = rbacRequest(req);
  const json = (code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (request.endsWith(" watch")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end();
    return;
  }
  if (request === "/serviceaccounts list") {
    json(200, { kind: "ServiceAccountList", metadata: { resourceVersion: "1" }, items: [] });
  } else if (request === "/serviceaccounts get" || request === "/secrets get") {
    json(404, { kind: "Status", code: 404, reason: "NotFound", message: "not found" });
  } else if (request === "/secrets create" || request === "/secrets patch") {
    json(request.endsWith("create") ? 201 : 200, secret);
  } else {
    json(200, webhookConfiguration);
  }
}

describe("the declared RBAC of the API clients", () => {
  let server: Server;
  let connection: KubeConnection;
  const recorded = new Set<string>();

  before(async () => {
    const pair = await selfSignedPair();
    server = createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
      recorded.add(rbacRequest(req));
      req.resume();
      req.on("end", () => answer(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    connection = await connectionFromSettings({
      server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      origin: "mock",
      certificateAuthority: { inline: Buffer.from(pair.certPem) },
      token: { inline: Buffer.from("t") },
    });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test("the ServiceAccount client makes exactly the requests it declares", async () => {
    recorded.clear();
    const api = createKubeServiceAccountApi(connection);
    const signal = new AbortController().signal;
    await api.list({ limit: 10 }, signal);
    await api.get("shop", "app", signal);
    await new Promise<void>((resolve) => {
      void api.watch(
        { resourceVersion: "1", timeoutSeconds: 1 },
        () => {},
        () => resolve(),
      );
    });
    assert.deepEqual([...recorded].sort(), declared(serviceAccountPermissions));
  });

  test("the certificate store makes exactly the requests it declares", async () => {
    recorded.clear();
    const store = new KubeCertStore(connection);
    await store.readSecret("iam", "tls");
    await store.createSecret("iam", "tls", { "tls.crt": "x" });
    await store.updateSecret("iam", "tls", "7", { "tls.crt": "y" });
    const read = await store.readWebhookConfiguration("wiw");
    assert.ok(read);
    await store.writeCaBundle("wiw", read, "CA");
    await new Promise<void>((resolve) => {
      void store.watchWebhookConfiguration("wiw", { onChange: () => {}, onEnd: () => resolve() });
    });
    assert.deepEqual([...recorded].sort(), declared(certificatePermissions));
  });
});
