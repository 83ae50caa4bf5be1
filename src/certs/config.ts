// Validated settings of the certificate mode, from the certificate flags and the pod's environment.

import { ConfigError, type FlagValues, intValue, requiredString, stringValue } from "../config/parse.js";

export type CertificateConfig = { readonly mode: "file" } | SelfManagedCertificateConfig;

export interface SelfManagedCertificateConfig {
  readonly mode: "self-managed";
  readonly secretName: string;
  readonly secretNamespace: string;
  readonly webhookConfigName: string;
  readonly serviceName: string;
  readonly serviceNamespace: string;
  readonly validityDays: number;
  readonly renewBeforeDays: number;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The certificate mode. In self-managed mode --cert-secret-namespace falls back to $POD_NAMESPACE
 * (set by the chart from the downward API) and --service-namespace to the Secret's namespace.
 */
export function certificateConfigFrom(values: FlagValues, env: NodeJS.ProcessEnv): CertificateConfig {
  if (requiredString(values, "cert-mode") === "file") return { mode: "file" };
  const secretNamespace =
    nonEmpty(stringValue(values, "cert-secret-namespace")) ?? nonEmpty(env.POD_NAMESPACE);
  if (secretNamespace === undefined) {
    throw new ConfigError(
      "--cert-secret-namespace is required in self-managed mode when POD_NAMESPACE is not set",
    );
  }
  const serviceNamespace = nonEmpty(stringValue(values, "service-namespace")) ?? secretNamespace;
  const validityDays = intValue(values, "cert-validity-days");
  const renewBeforeDays = intValue(values, "cert-renew-before-days");
  if (renewBeforeDays >= validityDays) {
    throw new ConfigError(
      `--cert-renew-before-days: ${renewBeforeDays} must be less than --cert-validity-days (${validityDays}), or every certificate would be renewed as soon as it is issued`,
    );
  }
  return {
    mode: "self-managed",
    secretName: name(values, "cert-secret-name", dnsSubdomain, "a DNS subdomain"),
    secretNamespace: checked("cert-secret-namespace", secretNamespace, dnsLabel, "a DNS label"),
    webhookConfigName: name(values, "webhook-config-name", dnsSubdomain, "a DNS subdomain"),
    serviceName: name(values, "service-name", dnsLabel, "a DNS label"),
    serviceNamespace: checked("service-namespace", serviceNamespace, dnsLabel, "a DNS label"),
    validityDays,
    renewBeforeDays,
  };
}

function name(values: FlagValues, flag: string, pattern: RegExp, what: string): string {
  const value = nonEmpty(stringValue(values, flag));
  if (value === undefined) throw new ConfigError(`--${flag} is required in self-managed mode`);
  return checked(flag, value, pattern, what);
}

function checked(flag: string, value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value) || value.length > 253 || (pattern === dnsLabel && value.length > 63)) {
    throw new ConfigError(
      `--${flag}: ${JSON.stringify(value)} is not ${what} (lower-case letters, digits, '-')`,
    );
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
