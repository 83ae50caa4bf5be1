// The issuer URL: the rules STS and kube-apiserver put on it, and the paths published under it.

/** Where relying parties fetch the discovery document, relative to the issuer (as kube-apiserver serves it). */
export const discoveryPath = "/.well-known/openid-configuration";
/** Where the JWKS lives, relative to the issuer; kube-apiserver serves it here too. */
export const jwksPath = "/openid/v1/jwks";

/** The audience AWS STS expects in a web identity token unless the role's trust policy says otherwise. */
export const stsAudience = "sts.amazonaws.com";

/**
 * Why `issuer` cannot be an issuer STS accepts, or undefined when it can. STS compares the token's `iss`,
 * the discovery document's `issuer` and the IAM provider URL byte for byte, so "almost the same" fails.
 */
export function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return `${JSON.stringify(issuer)} is not a URL (e.g. https://oidc.example.com/my-cluster)`;
  }
  if (url.protocol !== "https:") {
    return `${JSON.stringify(issuer)} must use https: STS fetches the discovery document only over HTTPS`;
  }
  if (url.username !== "" || url.password !== "") {
    return `${JSON.stringify(issuer)} must not carry a user name or password`;
  }
  if (issuer.includes("?") || issuer.includes("#")) {
    return `${JSON.stringify(issuer)} must not have a query or fragment (OIDC discovery forbids them)`;
  }
  if (issuer.endsWith("/")) {
    return (
      `${JSON.stringify(issuer)} ends with "/": STS compares the token's iss, the discovery document's issuer ` +
      `and the IAM provider URL byte for byte, and tools strip the slash in some places but not others — ` +
      `use ${JSON.stringify(issuer.replace(/\/+$/, ""))}`
    );
  }
  return undefined;
}

/** The issuer without "https://": the name IAM gives the OIDC provider and the prefix of its condition keys. */
export function issuerHostPath(issuer: string): string {
  return issuer.replace(/^https:\/\//, "");
}
