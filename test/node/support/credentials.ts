// What a pod on the node was given: the credentials in its stored spec, and what its container sees inside.
import { type PodSpec, tokenProjection } from "../../e2e/support/pods.js";
import type { TestNode } from "./cluster.js";

export interface StoredCredentials {
  roleArn: string | undefined;
  tokenFile: string | undefined;
  audience: string | undefined;
  expirationSeconds: number | undefined;
}

/** The first container's AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE and the token volume, as stored. */
export function storedCredentials(spec: PodSpec): StoredCredentials {
  const env = spec.containers[0]?.env ?? [];
  const value = (name: string): string | undefined => env.find((variable) => variable.name === name)?.value;
  const token = tokenProjection(spec);
  return {
    roleArn: value("AWS_ROLE_ARN"),
    tokenFile: value("AWS_WEB_IDENTITY_TOKEN_FILE"),
    audience: token?.audience,
    expirationSeconds: token?.expirationSeconds,
  };
}

/** Whether a stored pod got the webhook's credentials at all: the role, the token file and its volume. */
export function hasCredentials(spec: PodSpec): boolean {
  const stored = storedCredentials(spec);
  return stored.roleArn !== undefined && stored.tokenFile !== undefined && stored.audience !== undefined;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  "kubernetes.io"?: { namespace?: string; pod?: { name: string }; serviceaccount?: { name: string } };
}

/** The payload of a JWT (not verified: the API server issued it; the STS chain test verifies signatures). */
export function tokenClaims(jwt: string): TokenClaims {
  const payload = jwt.trim().split(".")[1];
  if (payload === undefined) throw new Error(`not a JWT: ${jwt.slice(0, 40)}...`);
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
}

export interface InsideView {
  uid: string;
  roleArn: string;
  tokenFile: string;
  token: string;
}

/** Runs `sh` in the pod's container (kubectl exec, through the kubelet) to read its uid, env and token file. */
export async function credentialsInside(node: TestNode, namespace: string, pod: string): Promise<InsideView> {
  const script =
    'id -u; echo "$AWS_ROLE_ARN"; echo "$AWS_WEB_IDENTITY_TOKEN_FILE"; cat "$AWS_WEB_IDENTITY_TOKEN_FILE"';
  const output = await node.kubectl.run(["exec", "-n", namespace, pod, "--", "sh", "-c", script]);
  const [uid = "", roleArn = "", tokenFile = "", token = ""] = output.split("\n");
  return { uid, roleArn, tokenFile, token };
}
