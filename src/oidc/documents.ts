// The issuer's two public documents, built exactly as kube-apiserver builds them (pkg/serviceaccount/openidmetadata.go).

import { exportJWK } from "jose";
import { discoveryPath, jwksPath } from "./issuer.js";
import type { ServiceAccountKey } from "./keys.js";

/** The OIDC discovery document, with kube-apiserver's fields in kube-apiserver's order. */
export interface DiscoveryDocument {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly response_types_supported: readonly string[];
  readonly subject_types_supported: readonly string[];
  readonly id_token_signing_alg_values_supported: readonly string[];
}

/** A public JWK with go-jose's field order (use, kty, kid, crv, alg, x, y, n, e). */
export interface IssuerJwk {
  readonly use: "sig";
  readonly kty: string;
  readonly kid: string;
  readonly crv?: string;
  readonly alg: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

export interface IssuerDocuments {
  readonly discovery: DiscoveryDocument;
  readonly jwks: { readonly keys: readonly IssuerJwk[] };
}

/** A file to publish: its path relative to the issuer (and to the output directory) and its exact bytes. */
export interface PublishedFile {
  readonly path: string;
  readonly body: string;
}

/**
 * The discovery document and JWKS for `issuer` (already validated) and `keys`, in key order. A key given
 * twice (e.g. sa.key and sa.pub) is listed once; kube-apiserver would list it twice, to no effect.
 */
export async function buildIssuerDocuments(
  issuer: string,
  keys: readonly ServiceAccountKey[],
): Promise<IssuerDocuments> {
  const unique = keys.filter((key, i) => keys.findIndex((other) => other.keyId === key.keyId) === i);
  const jwks = await Promise.all(unique.map(jwkOf));
  return { discovery: discoveryDocument(issuer, `${issuer}${jwksPath}`, jwks), jwks: { keys: jwks } };
}

/** kube-apiserver's discovery document; the algorithms are the keys' algorithms, sorted and unique. */
export function discoveryDocument(
  issuer: string,
  jwksUri: string,
  keys: readonly { alg?: string }[],
): DiscoveryDocument {
  const algorithms = [...new Set(keys.flatMap((k) => (k.alg ? [k.alg] : [])))].sort();
  return {
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: algorithms,
  };
}

/** The files to upload under the issuer URL, as compact JSON byte-identical to what kube-apiserver serves. */
export function publishedFiles(documents: IssuerDocuments): readonly PublishedFile[] {
  return [
    { path: discoveryPath.slice(1), body: JSON.stringify(documents.discovery) },
    { path: jwksPath.slice(1), body: JSON.stringify(documents.jwks) },
  ];
}

async function jwkOf(key: ServiceAccountKey): Promise<IssuerJwk> {
  const jwk = await exportJWK(key.publicKey);
  if (jwk.kty === undefined) throw new Error(`${key.origin}: exported JWK has no kty`);
  // Built field by field so the JSON keeps go-jose's order.
  return {
    use: "sig",
    kty: jwk.kty,
    kid: key.keyId,
    ...(jwk.crv !== undefined ? { crv: jwk.crv } : {}),
    alg: key.algorithm,
    ...(jwk.x !== undefined ? { x: jwk.x } : {}),
    ...(jwk.y !== undefined ? { y: jwk.y } : {}),
    ...(jwk.n !== undefined ? { n: jwk.n } : {}),
    ...(jwk.e !== undefined ? { e: jwk.e } : {}),
  };
}
