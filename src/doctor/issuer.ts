// Check 5: the issuer in the cluster's tokens is published where STS looks, with every key the cluster signs with.

import { calculateJwkThumbprint, type JWK } from "jose";
import { rebaseClusterDocuments } from "../oidc/cluster.js";
import type { IssuerJwk } from "../oidc/documents.js";
import type { HttpGet, HttpResponse } from "../oidc/http.js";
import { discoveryPath, stsAudience } from "../oidc/issuer.js";
import { verifyIssuer } from "../oidc/verify.js";
import type { DoctorApi } from "./api.js";
import { type Check, errorMessage, fail, pass } from "./check.js";

export interface IssuerScope {
  /** The issuer to check; the cluster's own when undefined. */
  readonly issuerUrl: string | undefined;
  readonly now: Date;
}

// kube-apiserver's in-cluster names: a token's iss there is only reachable from inside the cluster.
const inClusterHost = /^kubernetes(\.default(\.svc(\.cluster\.local)?)?)?$/;

/** Reads the cluster's issuer documents, then checks the published ones against them as STS would. */
export async function checkIssuer(api: DoctorApi, scope: IssuerScope): Promise<Check[]> {
  let clusterIssuer: string;
  let clusterKeys: readonly IssuerJwk[];
  try {
    const rebased = rebaseClusterDocuments(scope.issuerUrl ?? "", await api.fetchClusterDocuments());
    clusterIssuer = rebased.clusterIssuer;
    clusterKeys = rebased.documents.jwks.keys;
  } catch (error) {
    return [
      fail(
        `cannot read the cluster's issuer documents: ${errorMessage(error)}`,
        "make `kubectl get --raw /.well-known/openid-configuration` and `kubectl get --raw /openid/v1/jwks` work with this kubeconfig",
      ),
    ];
  }
  const checks: Check[] = [pass(`the cluster's tokens carry iss ${clusterIssuer}`)];
  const issuer = scope.issuerUrl ?? clusterIssuer;
  if (issuer !== clusterIssuer) {
    checks.push(
      fail(
        `--issuer-url ${issuer} is not the cluster's issuer ${clusterIssuer}`,
        `STS fetches the documents from the tokens' iss: make ${issuer} kube-apiserver's first --service-account-issuer (docs/self-hosted.md, "Migrating an existing cluster"), or leave out --issuer-url`,
      ),
    );
  }
  if (URL.canParse(issuer) && inClusterHost.test(new URL(issuer).hostname)) {
    checks.push(
      fail(
        `issuer ${issuer} is the in-cluster default, which STS cannot reach`,
        "publish the issuer as docs/self-hosted.md shows: a public https URL as kube-apiserver's first --service-account-issuer, and its documents uploaded there (`web-identity-webhook oidc export`)",
      ),
    );
    return checks;
  }

  const get = remembering(api.getPublic);
  checks.push(...(await verifyIssuer({ issuer, audience: stsAudience }, { get, now: () => scope.now })));
  const published = await publishedKeys(get, issuer);
  if (published !== undefined) checks.push(...(await compareKeys(issuer, clusterKeys, published)));
  return checks;
}

/** The keys of the published JWKS, read again from what verifyIssuer fetched; undefined when it could not. */
async function publishedKeys(get: HttpGet, issuer: string): Promise<readonly unknown[] | undefined> {
  // The URL verifyIssuer fetched.
  const discovery = await json(get, `${issuer.replace(/\/+$/, "")}${discoveryPath}`);
  const jwksUri = isObject(discovery) ? discovery.jwks_uri : undefined;
  if (typeof jwksUri !== "string") return undefined;
  const jwks = await json(get, jwksUri);
  const keys = isObject(jwks) ? jwks.keys : undefined;
  return Array.isArray(keys) ? keys : undefined;
}

async function compareKeys(
  issuer: string,
  clusterKeys: readonly IssuerJwk[],
  published: readonly unknown[],
): Promise<Check[]> {
  const fix = `publish the cluster's current keys: web-identity-webhook oidc export --issuer ${issuer} --out DIR, then upload DIR (while rotating, keep the old keys published too)`;
  const checks: Check[] = [];
  for (const key of clusterKeys) {
    const twin = published.find((candidate) => isObject(candidate) && candidate.kid === key.kid);
    if (twin === undefined) {
      checks.push(fail(`the cluster's signing key ${key.kid} is not in the published JWKS`, fix));
    } else {
      const expected = await thumbprint(key);
      if (expected === undefined || expected !== (await thumbprint(twin))) {
        checks.push(fail(`the published key ${key.kid} is not the cluster's key of that kid`, fix));
      }
    }
  }
  if (checks.length > 0) return checks;
  const kids = clusterKeys.map((key) => key.kid).join(", ");
  const count = clusterKeys.length === 1 ? "signing key" : `${clusterKeys.length} signing keys`;
  return [pass(`the published JWKS holds the cluster's ${count} (${kids})`)];
}

/** RFC 7638 thumbprint of a public key, or undefined when it is not a usable JWK. */
async function thumbprint(jwk: unknown): Promise<string | undefined> {
  try {
    return await calculateJwkThumbprint(jwk as JWK);
  } catch {
    return undefined;
  }
}

/** An HttpGet that fetches each URL once, so the documents verifyIssuer read can be read again. */
function remembering(get: HttpGet): HttpGet {
  const responses = new Map<string, Promise<HttpResponse>>();
  return (url) => {
    let response = responses.get(url);
    if (response === undefined) {
      response = get(url);
      responses.set(url, response);
    }
    return response;
  };
}

async function json(get: HttpGet, url: string): Promise<unknown> {
  try {
    const response = await get(url);
    return response.status === 200 ? (JSON.parse(response.body) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
