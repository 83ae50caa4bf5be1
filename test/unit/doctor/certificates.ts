// Test CAs and serving certificates, made with selfsigned, valid from a minute ago for a day unless told otherwise.

import { generate } from "selfsigned";

export interface TestCa {
  readonly cert: string;
  readonly key: string;
}

export interface Validity {
  readonly notBeforeDate: Date;
  readonly notAfterDate: Date;
}

export function validFromNow(): Validity {
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + 24 * 3600_000) };
}

export async function createCa(commonName: string, validity: Validity = validFromNow()): Promise<TestCa> {
  const ca = await generate([{ name: "commonName", value: commonName }], {
    ...validity,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

/** A serving certificate from `ca` for DNS names and IP addresses. */
export async function issueServing(
  ca: TestCa,
  names: { dns?: readonly string[]; ips?: readonly string[] },
  validity: Validity = validFromNow(),
): Promise<TestCa> {
  const altNames = [
    ...(names.dns ?? []).map((value) => ({ type: 2 as const, value })),
    ...(names.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
  ];
  const serving = await generate(
    [{ name: "commonName", value: names.dns?.[0] ?? names.ips?.[0] ?? "test" }],
    {
      ...validity,
      algorithm: "sha256",
      ca: { key: ca.key, cert: ca.cert },
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames },
      ],
    },
  );
  return { cert: serving.cert, key: serving.private };
}

/** The caBundle field's form: base64 of the PEM. */
export function caBundleOf(pem: string): string {
  return Buffer.from(pem).toString("base64");
}
