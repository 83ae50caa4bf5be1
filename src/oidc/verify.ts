// Checks a published issuer (and optionally a token) the way AWS STS will, one result per check, each failure with its fix.

import { createPublicKey, type JsonWebKeyInput } from "node:crypto";
import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
} from "jose";
import type { HttpGet } from "./http.js";
import { discoveryPath, issuerProblem } from "./issuer.js";

export interface Check {
  readonly ok: boolean;
  /** What was checked and what was found. */
  readonly what: string;
  /** How to fix it; present on failures. */
  readonly fix?: string;
}

export interface VerifyRequest {
  readonly issuer: string;
  readonly audience: string;
  /** A ServiceAccount token (compact JWT) to check against the published keys. */
  readonly token?: string;
}

export interface VerifyDeps {
  readonly get: HttpGet;
  readonly now: () => Date;
}

/** The algorithms STS accepts for web identity tokens. */
const stsAlgorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];
const curveAlgorithms: Readonly<Record<string, string>> = {
  "P-256": "ES256",
  "P-384": "ES384",
  "P-521": "ES512",
};
const minimumRsaBits = 2048;

const regenerate =
  "regenerate the documents with `web-identity-webhook oidc generate` (or `oidc export`) and upload them";

/** Runs every check that applies; a check that cannot run because an earlier one failed is left out. */
export async function verifyIssuer(request: VerifyRequest, deps: VerifyDeps): Promise<readonly Check[]> {
  const checks: Check[] = [];
  const jwks = await checkDocuments(request.issuer, deps.get, checks);
  if (request.token !== undefined) await checkToken(request, request.token, jwks, deps.now(), checks);
  return checks;
}

/** `ok   what` or `FAIL what — fix: fix`. */
export function formatCheck(check: Check): string {
  return check.ok
    ? `ok   ${check.what}`
    : `FAIL ${check.what} — fix: ${check.fix ?? "see docs/self-hosted.md"}`;
}

function pass(what: string): Check {
  return { ok: true, what };
}

function fail(what: string, fix: string): Check {
  return { ok: false, what, fix };
}

/** Checks the issuer URL, discovery document, jwks_uri and keys; returns the JWKS when it could be read. */
async function checkDocuments(
  issuer: string,
  get: HttpGet,
  checks: Check[],
): Promise<JSONWebKeySet | undefined> {
  const problem = issuerProblem(issuer);
  checks.push(
    problem === undefined
      ? pass(`issuer URL ${issuer} is https without trailing slash, query or fragment`)
      : fail(
          `issuer URL ${problem}`,
          "use one exact https URL everywhere: kube-apiserver's first --service-account-issuer, `oidc generate --issuer` and the IAM OIDC provider",
        ),
  );
  if (!issuer.startsWith("https://") || !URL.canParse(issuer)) return undefined;

  const discoveryUrl = `${issuer.replace(/\/+$/, "")}${discoveryPath}`;
  const discovery = await fetchJson(
    get,
    discoveryUrl,
    "discovery document",
    `.well-known/openid-configuration`,
  );
  checks.push(discovery.check);
  if (discovery.value === undefined) return undefined;
  if (!isObject(discovery.value)) {
    checks.push(fail(`discovery document at ${discoveryUrl} is not a JSON object`, regenerate));
    return undefined;
  }

  const published = discovery.value.issuer;
  if (published === issuer) {
    checks.push(pass(`discovery issuer equals ${issuer} byte for byte`));
  } else {
    const slashOnly =
      typeof published === "string" && published.replace(/\/+$/, "") === issuer.replace(/\/+$/, "");
    checks.push(
      fail(
        `discovery issuer is ${JSON.stringify(published)}, not ${JSON.stringify(issuer)}`,
        slashOnly
          ? `make both the same, without a trailing slash: STS compares the issuer byte for byte; ${regenerate}`
          : `regenerate the documents with --issuer ${issuer} (\`oidc generate\` or \`oidc export\`) and upload them; it must also be kube-apiserver's first --service-account-issuer`,
      ),
    );
  }

  const jwksUri = discovery.value.jwks_uri;
  if (typeof jwksUri !== "string" || !URL.canParse(jwksUri)) {
    checks.push(fail(`discovery jwks_uri is ${JSON.stringify(jwksUri)}, not a URL`, regenerate));
    return undefined;
  }
  if (!jwksUri.startsWith("https://")) {
    checks.push(fail(`jwks_uri ${jwksUri} is not https`, `serve the JWKS over https and ${regenerate}`));
    return undefined;
  }
  const jwks = await fetchJson(get, jwksUri, "JWKS", "openid/v1/jwks");
  if (jwks.value === undefined) {
    checks.push(jwks.check);
    return undefined;
  }
  const keys = isObject(jwks.value) ? jwks.value.keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) {
    checks.push(fail(`JWKS at ${jwksUri} has no "keys"`, regenerate));
    return undefined;
  }
  checks.push(pass(`JWKS served at ${jwksUri} with ${keys.length} key${keys.length === 1 ? "" : "s"}`));
  keys.forEach((key: unknown, index) => {
    checks.push(checkKey(key, index));
  });
  return { keys: keys.filter(isObject) as JWK[] };
}

function checkKey(key: unknown, index: number): Check {
  if (!isObject(key)) return fail(`JWKS key #${index + 1} is not a JSON object`, regenerate);
  const kid = key.kid;
  if (typeof kid !== "string" || kid === "") {
    return fail(`JWKS key #${index + 1} has no kid`, `STS picks the key by the token's kid; ${regenerate}`);
  }
  const name = `key ${kid}`;
  if (key.use !== undefined && key.use !== "sig") {
    return fail(`${name} has use ${JSON.stringify(key.use)}, not "sig"`, regenerate);
  }
  if (key.kty !== "RSA" && key.kty !== "EC") {
    return fail(`${name} has kty ${JSON.stringify(key.kty)}; STS accepts RSA and EC keys`, regenerate);
  }
  const algorithm = key.alg ?? (key.kty === "RSA" ? "RS256" : curveAlgorithms[String(key.crv)]);
  if (typeof algorithm !== "string" || !stsAlgorithms.includes(algorithm)) {
    return fail(
      `${name} has alg ${JSON.stringify(algorithm)}; STS accepts ${stsAlgorithms.join(", ")}`,
      "sign ServiceAccount tokens with an RSA or P-256/P-384/P-521 EC key",
    );
  }
  let details: { modulusLength?: number; namedCurve?: string };
  try {
    details =
      createPublicKey({ key: key as JsonWebKeyInput["key"], format: "jwk" }).asymmetricKeyDetails ?? {};
  } catch (error) {
    return fail(`${name} is not a usable public key (${(error as Error).message})`, regenerate);
  }
  if (key.kty === "RSA") {
    const bits = details.modulusLength ?? 0;
    if (bits < minimumRsaBits) {
      return fail(
        `${name}: RSA key of ${bits} bits is too short`,
        `STS needs RSA keys of at least ${minimumRsaBits} bits; rotate to a new key (docs/self-hosted.md, "Rotating the signing key")`,
      );
    }
    return pass(`${name}: ${algorithm}, RSA ${bits} bits`);
  }
  return pass(`${name}: ${algorithm}, EC ${String(key.crv)}`);
}

async function checkToken(
  request: VerifyRequest,
  token: string,
  jwks: JSONWebKeySet | undefined,
  now: Date,
  checks: Check[],
): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch (error) {
    checks.push(
      fail(
        `token is not a JWT (${(error as Error).message})`,
        "pass a ServiceAccount token file, e.g. from `kubectl create token SA --audience sts.amazonaws.com`",
      ),
    );
    return;
  }

  if (jwks !== undefined) await checkSignature(token, header.kid, jwks, checks);

  checks.push(
    claims.iss === request.issuer
      ? pass(`token iss equals ${request.issuer}`)
      : fail(
          `token iss is ${JSON.stringify(claims.iss)}, not ${JSON.stringify(request.issuer)}`,
          `make ${request.issuer} kube-apiserver's first --service-account-issuer (keep the old issuer as a further --service-account-issuer while old tokens live) and use a new token`,
        ),
  );

  const audiences = typeof claims.aud === "string" ? [claims.aud] : (claims.aud ?? []);
  checks.push(
    audiences.includes(request.audience)
      ? pass(`token aud includes ${request.audience}`)
      : fail(
          `token aud is ${JSON.stringify(audiences)}, without ${JSON.stringify(request.audience)}`,
          `issue the token for that audience (the webhook's --token-audience or the ServiceAccount's audience annotation; kubectl create token SA --audience ${request.audience}), or pass the audience the role trusts with --audience`,
        ),
  );

  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (typeof claims.exp !== "number") {
    checks.push(fail("token has no exp", "use a token issued by kube-apiserver, which always sets exp"));
  } else {
    const at = new Date(claims.exp * 1000).toISOString();
    checks.push(
      claims.exp > nowSeconds
        ? pass(`token expires at ${at} (in ${claims.exp - nowSeconds}s)`)
        : fail(
            `token expired at ${at} (${nowSeconds - claims.exp}s ago)`,
            "use a fresh token; the kubelet refreshes projected tokens at 80% of their lifetime",
          ),
    );
  }

  checks.push(
    typeof claims.sub === "string" && claims.sub !== ""
      ? pass(`token subject: ${claims.sub}`)
      : fail("token has no sub", "use a ServiceAccount token issued by kube-apiserver"),
  );
}

async function checkSignature(
  token: string,
  kid: string | undefined,
  jwks: JSONWebKeySet,
  checks: Check[],
): Promise<void> {
  if (kid === undefined) {
    checks.push(
      fail("token header has no kid", "STS picks the key by kid; use a token issued by kube-apiserver"),
    );
    return;
  }
  if (!jwks.keys.some((key) => key.kid === kid)) {
    checks.push(
      fail(
        `token was signed with key ${kid}, which the JWKS does not publish`,
        `${regenerate} from every file in kube-apiserver's --service-account-key-file; while rotating, publish the old and the new key`,
      ),
    );
    return;
  }
  try {
    const { protectedHeader } = await compactVerify(token, createLocalJWKSet(jwks));
    checks.push(pass(`token signature verifies with key ${kid} (${protectedHeader.alg})`));
  } catch (error) {
    checks.push(
      fail(
        `token signature does not verify with key ${kid} (${(error as Error).message})`,
        `the published key ${kid} is not the key that signed the token; ${regenerate} from the current key files`,
      ),
    );
  }
}

interface Fetched {
  readonly check: Check;
  readonly value?: unknown;
}

/** GETs a JSON document; the check says what happened. `file` names what `oidc generate` writes for it. */
async function fetchJson(get: HttpGet, url: string, name: string, file: string): Promise<Fetched> {
  let response: Awaited<ReturnType<HttpGet>>;
  try {
    response = await get(url);
  } catch (error) {
    return { check: networkFailure(url, name, error as NodeJS.ErrnoException) };
  }
  if (response.status !== 200) {
    const redirect = response.location !== undefined ? ` (redirect to ${response.location})` : "";
    return {
      check: fail(
        `${name} at ${url}: HTTP ${response.status}${redirect}`,
        `upload DIR/${file} (written by \`oidc generate\`) so that it is served at exactly this URL with status 200, readable without credentials`,
      ),
    };
  }
  try {
    return { check: pass(`${name} served at ${url}`), value: JSON.parse(response.body) as unknown };
  } catch {
    return { check: fail(`${name} at ${url} is not JSON`, `upload the file as \`oidc generate\` wrote it`) };
  }
}

const untrustedCertificateCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function networkFailure(url: string, name: string, error: NodeJS.ErrnoException): Check {
  const host = new URL(url).host;
  const what = `${name} at ${url} unreachable: ${error.code ?? error.message}`;
  switch (error.code) {
    case "ECONNREFUSED":
      return fail(
        what,
        `nothing accepts connections at ${host}; publish the documents there (e.g. S3 or CloudFront)`,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return fail(what, `${new URL(url).hostname} does not resolve; create its DNS record`);
    case "ETIMEDOUT":
    case "ECONNRESET":
      return fail(what, `${host} does not answer; it must be reachable from the internet, where STS runs`);
    default:
      if (error.code !== undefined && untrustedCertificateCodes.has(error.code)) {
        return fail(
          what,
          "serve it with a valid, publicly trusted certificate for this host (S3 and CloudFront have one); IAM accepts other certificates only through a thumbprint pinned in the provider. For a local test CA pass --ca-file",
        );
      }
      return fail(what, `make ${url} reachable over HTTPS from the internet`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
