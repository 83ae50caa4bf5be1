// S3 requests of the test itself (create a bucket, read an object) signed with Signature Version 4, so the
// suite needs no AWS SDK of its own: only the SDK app's image carries one.
import { createHash, createHmac } from "node:crypto";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for the temporary credentials of an STS session. */
  sessionToken?: string;
}

export interface S3Target {
  /** http://HOST:PORT of an S3 API that takes path-style requests (/BUCKET/KEY). */
  endpoint: string;
  region: string;
  credentials: S3Credentials;
}

export interface S3Response {
  status: number;
  body: string;
}

const sha256Hex = (data: string): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

// RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4's canonical URI wants.
const encodeSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The headers that sign a request to target (service s3) at time now; see AWS's "Signature Version 4" guide. */
export function signS3Request(
  target: S3Target,
  method: string,
  path: string,
  body: string,
  now: Date,
): Record<string, string> {
  const url = new URL(path, target.endpoint);
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    host: url.host,
    "x-amz-content-sha256": sha256Hex(body),
    "x-amz-date": amzDate,
    ...(target.credentials.sessionToken === undefined
      ? {}
      : { "x-amz-security-token": target.credentials.sessionToken }),
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    method,
    url.pathname
      .split("/")
      .map((segment) => encodeSegment(decodeURIComponent(segment)))
      .join("/"),
    "",
    ...names.map((name) => `${name}:${headers[name]}`),
    "",
    signedHeaders,
    headers["x-amz-content-sha256"],
  ].join("\n");
  const scope = `${day}/${target.region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = ["s3", "aws4_request"].reduce(
    (key, part) => hmac(key, part),
    hmac(hmac(`AWS4${target.credentials.secretAccessKey}`, day), target.region),
  );
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  const { host: _host, ...sent } = headers;
  return {
    ...sent,
    authorization: `AWS4-HMAC-SHA256 Credential=${target.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** Sends a signed request to path (/BUCKET or /BUCKET/KEY) and returns its status and text, whatever the status. */
export async function s3Request(
  target: S3Target,
  method: string,
  path: string,
  body = "",
): Promise<S3Response> {
  const url = new URL(path, target.endpoint);
  const response = await fetch(url, {
    method,
    headers: signS3Request(target, method, url.pathname, body, new Date()),
    ...(body === "" ? {} : { body }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.text() };
}

const objectPath = (bucket: string, key: string): string =>
  `/${encodeSegment(bucket)}/${key.split("/").map(encodeSegment).join("/")}`;

async function expectOk(response: Promise<S3Response>, what: string): Promise<string> {
  const { status, body } = await response;
  if (status !== 200) throw new Error(`${what}: HTTP ${status}: ${body}`);
  return body;
}

export async function createBucket(target: S3Target, bucket: string): Promise<void> {
  await expectOk(s3Request(target, "PUT", `/${encodeSegment(bucket)}`), `S3 CreateBucket ${bucket}`);
}

/** The object's text; rejects with the S3 error (e.g. NoSuchKey) when it cannot be read. */
export function getObject(target: S3Target, bucket: string, key: string): Promise<string> {
  return expectOk(s3Request(target, "GET", objectPath(bucket, key)), `S3 GetObject ${bucket}/${key}`);
}

export async function putObject(target: S3Target, bucket: string, key: string, body: string): Promise<void> {
  await expectOk(s3Request(target, "PUT", objectPath(bucket, key), body), `S3 PutObject ${bucket}/${key}`);
}
