import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { kubeconfigSettings } from "../../../src/kube/kubeconfig.js";

const path = "/etc/webhook/kubeconfig";

/** A kubeconfig whose current context "c" uses cluster "k" and user "u", with the fields given. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "k", cluster: { server: "https://api.example:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
    "current-context": "c",
  });
}

describe("kubeconfigSettings", () => {
  it("reads every supported cluster and user field, relative files against the kubeconfig's directory", () => {
    const reading = kubeconfigSettings(
      kubeconfig(
        {
          server: "https://api.example:6443/",
          "certificate-authority": "ca.crt",
          "insecure-skip-tls-verify": true,
          "tls-server-name": "kubernetes.default",
          extensions: [{ name: "x", extension: {} }],
        },
        { tokenFile: "token", "client-certificate": "/abs/client.crt", "client-key-data": "a2V5" },
      ),
      path,
    );
    assert.deepEqual(reading, {
      settings: {
        server: "https://api.example:6443",
        origin: `kubeconfig ${path}`,
        certificateAuthority: { file: "/etc/webhook/ca.crt", what: 'cluster "k" certificate-authority' },
        insecureSkipTlsVerify: true,
        tlsServerName: "kubernetes.default",
        token: { file: "/etc/webhook/token", what: 'user "u" tokenFile' },
        clientCertificate: { file: "/abs/client.crt", what: 'user "u" client-certificate' },
        clientKey: { inline: Buffer.from("key") },
      },
    });
  });

  it("takes inline data when no file is named, and an inline token over a token file", () => {
    const reading = kubeconfigSettings(
      kubeconfig(
        { "certificate-authority-data": Buffer.from("CA").toString("base64") },
        { token: "secret", "token-file": "ignored", "client-certificate-data": "Y2VydA==" },
      ),
      path,
    );
    assert.deepEqual(reading, {
      settings: {
        server: "https://api.example:6443",
        origin: `kubeconfig ${path}`,
        certificateAuthority: { inline: Buffer.from("CA") },
        token: { inline: Buffer.from("secret") },
        clientCertificate: { inline: Buffer.from("cert") },
      },
    });
  });

  it("reads `token-file`, the spelling client-node read", () => {
    const reading = kubeconfigSettings(kubeconfig({}, { "token-file": "/run/token" }), path);
    assert.ok("settings" in reading);
    assert.deepEqual(reading.settings.token, { file: "/run/token", what: 'user "u" token-file' });
  });

  it("connects anonymously when the context names no user", () => {
    const text = stringify({
      clusters: [{ name: "k", cluster: { server: "https://api.example" } }],
      contexts: [{ name: "c", context: { cluster: "k" } }],
      "current-context": "c",
    });
    assert.deepEqual(kubeconfigSettings(text, path), {
      settings: { server: "https://api.example", origin: `kubeconfig ${path}` },
    });
  });

  const delegated: {
    name: string;
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    because: string;
  }[] = [
    {
      name: "an exec plugin",
      user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws" } },
      because: 'user "u" runs an exec plugin',
    },
    {
      name: "an auth-provider",
      user: { "auth-provider": { name: "oidc", config: {} } },
      because: 'user "u" uses an auth-provider plugin',
    },
    {
      name: "basic auth",
      user: { username: "admin", password: "x" },
      because: 'user "u" uses a username and password',
    },
    { name: "impersonation", user: { token: "t", as: "someone" }, because: 'user "u" impersonates a user' },
    {
      name: "a proxy",
      cluster: { "proxy-url": "http://proxy:3128" },
      because: 'cluster "k" goes through a proxy',
    },
    {
      name: "an unknown user field",
      user: { "as-groups": ["g"] },
      because: 'user "u" has the field "as-groups"',
    },
  ];
  for (const { name, cluster, user, because } of delegated) {
    it(`hands a kubeconfig with ${name} to client-node`, () => {
      assert.deepEqual(kubeconfigSettings(kubeconfig(cluster ?? {}, user ?? {}), path), {
        delegateBecause: because,
      });
    });
  }

  const broken: { name: string; document: unknown; message: string }[] = [
    {
      name: "no current-context",
      document: { clusters: [], contexts: [] },
      message: `kubeconfig ${path} has no current-context: choose one (kubectl config use-context NAME)`,
    },
    {
      name: "a current-context it does not define",
      document: { contexts: [{ name: "other", context: { cluster: "k" } }], "current-context": "c" },
      message: `kubeconfig ${path}: its current-context "c" is not among its contexts`,
    },
    {
      name: "a context without a cluster",
      document: { contexts: [{ name: "c", context: { user: "u" } }], "current-context": "c" },
      message: `kubeconfig ${path}: context "c" names no cluster`,
    },
    {
      name: "a cluster it does not define",
      document: { contexts: [{ name: "c", context: { cluster: "k" } }], "current-context": "c" },
      message: `kubeconfig ${path}: context "c" names cluster "k", which it does not define`,
    },
    {
      name: "a user it does not define",
      document: {
        clusters: [{ name: "k", cluster: { server: "https://api.example" } }],
        contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
        "current-context": "c",
      },
      message: `kubeconfig ${path}: context "c" names user "u", which it does not define`,
    },
    {
      name: "a cluster without a server",
      document: {
        clusters: [{ name: "k", cluster: { "certificate-authority-data": "Q0E=" } }],
        contexts: [{ name: "c", context: { cluster: "k" } }],
        "current-context": "c",
      },
      message: `kubeconfig ${path}: cluster "k" has no server URL (server: undefined)`,
    },
  ];
  for (const { name, document, message } of broken) {
    it(`refuses a kubeconfig with ${name}, saying so`, () => {
      assert.throws(() => kubeconfigSettings(stringify(document), path), { message });
    });
  }

  it("refuses a kubeconfig that is not YAML", () => {
    assert.throws(() => kubeconfigSettings("clusters: [", path), {
      message: new RegExp(`^kubeconfig ${path} is not valid YAML: `),
    });
  });
});
