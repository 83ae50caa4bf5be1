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
  if (url.username !== "" || url.password !== "" || authority(issuer).includes("@")) {
    return `${JSON.stringify(issuer)} must not carry a user name or password (IAM refuses such provider URLs)`;
  }
  if (issuer.includes("?") || issuer.includes("#")) {
    return `${JSON.stringify(issuer)} must not have a query or fragment (OIDC discovery forbids them, and IAM refuses them)`;
  }
  if (hasPort(issuer)) {
    return (
      `${JSON.stringify(issuer)} has a port: IAM refuses OIDC provider URLs with a port, even :443. ` +
      `Serve the issuer on the https default port and use ${JSON.stringify(`https://${url.hostname}${url.pathname === "/" ? "" : url.pathname}`)}`
    );
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

/** The text between "//" and the path: userinfo, host and port as written (URL drops a default :443). */
function authority(issuer: string): string {
  const start = issuer.indexOf("//") + 2;
  const end = issuer.slice(start).search(/[/?#]/);
  return end === -1 ? issuer.slice(start) : issuer.slice(start, start + end);
}

function hasPort(issuer: string): boolean {
  const hostAndPort = authority(issuer).replace(/^.*@/, "");
  // An IPv6 literal's colons are inside its brackets.
  const afterHost = hostAndPort.startsWith("[")
    ? hostAndPort.slice(hostAndPort.indexOf("]") + 1)
    : hostAndPort;
  return afterHost.includes(":");
}

/** The issuer without "https://": the name IAM gives the OIDC provider and the prefix of its condition keys. */
export function issuerHostPath(issuer: string): string {
  return issuer.replace(/^https:\/\//, "");
}
