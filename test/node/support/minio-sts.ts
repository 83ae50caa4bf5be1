// AssumeRoleWithWebIdentity as the AWS SDK sends it (an unsigned form POST), for tests that hand an STS a token
// of their own choosing; the SDK app does the same call from inside a pod.
import type { S3Credentials } from "./minio-s3.js";

export interface WebIdentityRequest {
  /** http://HOST:PORT of the STS (AWS_ENDPOINT_URL_STS). */
  endpoint: string;
  roleArn: string;
  token: string;
  sessionName: string;
  durationSeconds?: number;
}

export type WebIdentityResult =
  | { readonly assumed: true; readonly credentials: Required<S3Credentials>; readonly expiration: string }
  | { readonly assumed: false; readonly status: number; readonly code: string; readonly message: string };

/** The text of the first <name> element of an STS answer (its XML has no attributes or CDATA in these). */
function element(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

/** Calls the STS's AssumeRoleWithWebIdentity; a refusal is a result with the STS's error code, not a rejection. */
export async function assumeRoleWithWebIdentity(request: WebIdentityRequest): Promise<WebIdentityResult> {
  const form = new URLSearchParams({
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    RoleArn: request.roleArn,
    RoleSessionName: request.sessionName,
    WebIdentityToken: request.token,
    DurationSeconds: String(request.durationSeconds ?? 900),
  });
  const response = await fetch(new URL("/", request.endpoint), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: form.toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const xml = await response.text();
  if (response.status !== 200) {
    return {
      assumed: false,
      status: response.status,
      code: element(xml, "Code") ?? "(no Code)",
      message: element(xml, "Message") ?? xml.slice(0, 500),
    };
  }
  const accessKeyId = element(xml, "AccessKeyId");
  const secretAccessKey = element(xml, "SecretAccessKey");
  const sessionToken = element(xml, "SessionToken");
  const expiration = element(xml, "Expiration");
  if (!accessKeyId || !secretAccessKey || !sessionToken || !expiration)
    throw new Error(`AssumeRoleWithWebIdentity at ${request.endpoint}: HTTP 200 without credentials: ${xml}`);
  return { assumed: true, credentials: { accessKeyId, secretAccessKey, sessionToken }, expiration };
}
