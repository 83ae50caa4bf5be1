// The objects of a cluster where the webhook is installed as the chart installs it, for tests to vary.

import type { EndpointSliceInfo, MutatingWebhook, ServiceInfo } from "../../../src/doctor/api.js";
import { caBundleOf } from "./certificates.js";

export const configurationName = "web-identity-webhook";
export const webhookName = "pod-identity.web-identity-webhook.io";
export const serviceRef = { namespace: "irsa", name: "web-identity-webhook", path: "/mutate", port: 443 };
export const serverName = "web-identity-webhook.irsa.svc";

/** The chart's webhook entry: pods CREATE to the Service irsa/web-identity-webhook:443 /mutate. */
export function podWebhook(caPem: string, changes: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return {
    name: webhookName,
    sideEffects: "None",
    clientConfig: { service: serviceRef, caBundle: caBundleOf(caPem) },
    rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
    ...changes,
  };
}

/** The chart's Service: port 443 named https. */
export const service: ServiceInfo = { ports: [{ name: "https", port: 443 }] };

/** EndpointSlices with one ready endpoint per address, on targetPort `port` named https. */
export function slicesFor(addresses: readonly string[], port = 8443): EndpointSliceInfo[] {
  return [
    {
      ports: [{ name: "https", port }],
      endpoints: addresses.map((address) => ({ addresses: [address], ready: true })),
    },
  ];
}
