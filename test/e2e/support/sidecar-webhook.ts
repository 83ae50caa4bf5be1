// A second, real mutating webhook that injects a sidecar container, the way service meshes and log shippers do.
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { ServingCertificate } from "./serving-certificate.js";
import type { WebhookConfiguration } from "./webhook-configuration.js";

export interface SidecarWebhook {
  /** The container it adds to every pod it reviews, once. */
  sidecar: { name: string; image: string };
  /** Pods carrying this label (value "true") are sent to it. */
  podLabel: string;
  /** Its MutatingWebhookConfiguration; the name sorts after the chart's, so the API server calls it after ours. */
  configuration(): WebhookConfiguration;
  close(): Promise<void>;
}

interface Review {
  request?: { uid?: string; object?: { spec?: { containers?: { name?: string }[] } } };
}

const sidecar = { name: "log-shipper", image: "registry.example.test/log-shipper:1" };
const podLabel = "e2e.example.test/log-shipper";

function answer(body: string): unknown {
  const review = JSON.parse(body) as Review;
  const uid = review.request?.uid ?? "";
  const containers = review.request?.object?.spec?.containers ?? [];
  const patch = containers.some((container) => container.name === sidecar.name)
    ? []
    : [{ op: "add", path: "/spec/containers/-", value: sidecar }];
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: true,
      ...(patch.length === 0
        ? {}
        : { patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") }),
    },
  };
}

/** Listens on a free 127.0.0.1 port with the given certificate. */
export async function startSidecarWebhook(certificate: ServingCertificate): Promise<SidecarWebhook> {
  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const body = JSON.stringify(answer(Buffer.concat(chunks).toString("utf8")));
        res.writeHead(200, { "content-type": "application/json" }).end(body);
      } catch (error) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    sidecar,
    podLabel,
    configuration: () => ({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: "zz-e2e-log-shipper-injector" },
      webhooks: [
        {
          name: "log-shipper.e2e.example.test",
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy: "Fail",
          matchPolicy: "Equivalent",
          reinvocationPolicy: "Never",
          timeoutSeconds: 5,
          clientConfig: { url: `https://127.0.0.1:${port}/inject`, caBundle: certificate.caBundle },
          rules: [
            {
              operations: ["CREATE"],
              apiGroups: [""],
              apiVersions: ["v1"],
              resources: ["pods"],
              scope: "Namespaced",
            },
          ],
          namespaceSelector: {},
          objectSelector: { matchLabels: { [podLabel]: "true" } },
        },
      ],
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
