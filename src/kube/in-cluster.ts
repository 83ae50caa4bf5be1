// The in-cluster connection: the API server from the Service environment, the pod's ServiceAccount token and CA.

import { isIPv6 } from "node:net";
import type { ConnectionSettings } from "./settings.js";

/** Where kubelet mounts the pod's ServiceAccount token and the cluster CA. */
export const serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

/** What client-go's rest.InClusterConfig reads: always https, the token re-read as it rotates. */
export function inClusterSettings(
  env: Readonly<Record<string, string | undefined>>,
  directory: string,
): ConnectionSettings {
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const port = env.KUBERNETES_SERVICE_PORT ?? "";
  if (host === "" || port === "")
    throw new Error(
      "no --kubeconfig and not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset): " +
        "pass --kubeconfig, or --service-accounts-file to run without a cluster",
    );
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    origin: "in-cluster",
    certificateAuthority: { file: `${directory}/ca.crt`, what: "the in-cluster CA" },
    token: { file: `${directory}/token`, what: "the in-cluster ServiceAccount token" },
  };
}
