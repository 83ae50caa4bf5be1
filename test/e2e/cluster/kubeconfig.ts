// Writes an admin kubeconfig for the test cluster, for clients such as @kubernetes/client-node or kubectl.
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import type { KubeCredentials } from "./kube.js";

const base64 = (pem: string): string => Buffer.from(pem).toString("base64");

/** Writes a kubeconfig with one context, "e2e", that uses the admin client certificate. */
export async function writeKubeconfig(path: string, credentials: KubeCredentials): Promise<void> {
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "e2e",
        cluster: { server: credentials.server, "certificate-authority-data": base64(credentials.caCertPem) },
      },
    ],
    users: [
      {
        name: "admin",
        user: {
          "client-certificate-data": base64(credentials.clientCertPem),
          "client-key-data": base64(credentials.clientKeyPem),
        },
      },
    ],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "admin", namespace: "default" } }],
    "current-context": "e2e",
  };
  await writeFile(path, stringify(kubeconfig), { mode: 0o600 });
}
