// Asks the API server's authorizer (SubjectAccessReview) what a ServiceAccount may do, as its token would.
import type { KubeClient } from "../cluster/kube.js";

/** What is asked for; an empty or absent namespace means every namespace (or a cluster-scoped resource). */
export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

interface SubjectAccessReview {
  status: { allowed: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

/** The authorizer's answer for ServiceAccount namespace/name, with the groups its token carries. */
export async function serviceAccountMay(
  client: KubeClient,
  serviceAccount: { namespace: string; name: string },
  attributes: ResourceAttributes,
): Promise<SubjectAccessReview["status"]> {
  const review = await client.request<SubjectAccessReview>(
    "POST",
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
        groups: [
          "system:serviceaccounts",
          `system:serviceaccounts:${serviceAccount.namespace}`,
          "system:authenticated",
        ],
        resourceAttributes: attributes,
      },
    },
  );
  return review.status;
}
