// Where each kind the chart renders lives in the API server, and submitting rendered objects there.
import type { KubeObject } from "../../chart/render.js";
import { type KubeClient, KubeRequestError } from "../cluster/kube.js";

/** The API group/version and resource of each kind the chart renders into objects the test cluster serves. */
const collections: Readonly<Record<string, { resource: string; namespaced: boolean }>> = {
  "v1/ServiceAccount": { resource: "serviceaccounts", namespaced: true },
  "v1/Service": { resource: "services", namespaced: true },
  "v1/ConfigMap": { resource: "configmaps", namespaced: true },
  "v1/Pod": { resource: "pods", namespaced: true },
  "apps/v1/Deployment": { resource: "deployments", namespaced: true },
  "policy/v1/PodDisruptionBudget": { resource: "poddisruptionbudgets", namespaced: true },
  "networking.k8s.io/v1/NetworkPolicy": { resource: "networkpolicies", namespaced: true },
  "rbac.authorization.k8s.io/v1/Role": { resource: "roles", namespaced: true },
  "rbac.authorization.k8s.io/v1/RoleBinding": { resource: "rolebindings", namespaced: true },
  "rbac.authorization.k8s.io/v1/ClusterRole": { resource: "clusterroles", namespaced: false },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": { resource: "clusterrolebindings", namespaced: false },
  "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration": {
    resource: "mutatingwebhookconfigurations",
    namespaced: false,
  },
};

/**
 * Kinds defined by CustomResourceDefinitions of other projects: the test cluster is a bare kube-apiserver
 * with no CRDs installed, so it has no path to submit them to.
 */
export const kindsWithoutCrd: Readonly<Record<string, { project: string; groupVersionPath: string }>> = {
  "cert-manager.io/v1/Certificate": { project: "cert-manager", groupVersionPath: "/apis/cert-manager.io/v1" },
  "cert-manager.io/v1/Issuer": { project: "cert-manager", groupVersionPath: "/apis/cert-manager.io/v1" },
  "monitoring.coreos.com/v1/ServiceMonitor": {
    project: "the Prometheus Operator",
    groupVersionPath: "/apis/monitoring.coreos.com/v1",
  },
};

/** "apiVersion/Kind", the key of the tables above. */
export function kindKey(object: KubeObject): string {
  return `${object.apiVersion}/${object.kind}`;
}

/** The collection a rendered object is POSTed to; throws for a kind the table does not know. */
export function collectionPath(object: KubeObject, releaseNamespace: string): string {
  const collection = collections[kindKey(object)];
  if (collection === undefined) {
    throw new Error(
      `no API path for ${kindKey(object)} (${object.metadata.name}): the chart renders a new kind; add it to the table in chart-objects.ts`,
    );
  }
  const prefix = object.apiVersion === "v1" ? "/api/v1" : `/apis/${object.apiVersion}`;
  const namespace = object.metadata.namespace ?? releaseNamespace;
  return collection.namespaced
    ? `${prefix}/namespaces/${namespace}/${collection.resource}`
    : `${prefix}/${collection.resource}`;
}

/**
 * POSTs the object (only admitted and validated, not stored, with dryRun) and returns the API server's
 * refusal as one line, or undefined when it was accepted.
 */
export async function submitObject(
  client: KubeClient,
  object: KubeObject,
  releaseNamespace: string,
  options: { dryRun: boolean },
): Promise<string | undefined> {
  const path = `${collectionPath(object, releaseNamespace)}${options.dryRun ? "?dryRun=All" : ""}`;
  try {
    await client.request("POST", path, object);
    return undefined;
  } catch (error) {
    if (!(error instanceof KubeRequestError)) throw error;
    return `${object.kind}/${object.metadata.name}: HTTP ${error.status}: ${error.body}`;
  }
}
