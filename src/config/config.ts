// Validated, typed configuration of `serve` and `mutate`, built from parsed flag values.

import type { EngineOptions } from "../mutation/options.js";
import { boolValue, ConfigError, type FlagValues, intValue, requiredString, stringValue } from "./parse.js";

export interface ServeConfig {
  readonly engine: EngineOptions;
  readonly listenAddress: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly generateSelfSigned: boolean;
  readonly kubeconfig?: string;
  readonly serviceAccountsFile?: string;
  readonly lookupTimeoutMs: number;
  readonly lookupRatePerSecond: number;
  readonly negativeCacheTtlMs: number;
  readonly maxBodyBytes: number;
  readonly maxReviewsInFlight: number;
  readonly maxBytesInFlight: number;
  readonly maxConnections: number;
  readonly shutdownTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly logLevel: string;
  /** --events: review warnings also become Kubernetes Events (needs a cluster). */
  readonly events: boolean;
  /** --watch-config-map: the namespace whose ConfigMap pod-identity-webhook is watched; unset: not watched. */
  readonly configMapNamespace?: string;
  /** --role-policy-file: read by the command at start, into engine.rolePolicy. */
  readonly rolePolicyFile?: string;
}

const annotationPrefixPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Engine options from the flags `serve` and `mutate` share. */
export function engineOptionsFrom(values: FlagValues): EngineOptions {
  const annotationPrefix = requiredString(values, "annotation-prefix");
  if (!annotationPrefixPattern.test(annotationPrefix) || annotationPrefix.length > 253) {
    throw new ConfigError(
      `--annotation-prefix: ${JSON.stringify(annotationPrefix)} is not a DNS subdomain (e.g. eks.amazonaws.com)`,
    );
  }
  const mountPath = requiredString(values, "token-mount-path");
  if (
    !mountPath.startsWith("/") ||
    mountPath.includes(":") ||
    (mountPath.length > 1 && mountPath.endsWith("/"))
  ) {
    throw new ConfigError(
      `--token-mount-path: ${JSON.stringify(mountPath)} must be an absolute path without a trailing slash or ':'`,
    );
  }
  const region = stringValue(values, "aws-default-region");
  if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) {
    throw new ConfigError(
      `--aws-default-region: ${JSON.stringify(region)} is not a region name (e.g. us-west-2)`,
    );
  }
  return {
    annotationPrefix,
    defaultAudience: requiredString(values, "token-audience"),
    mountPath,
    defaultExpiration: intValue(values, "token-expiration"),
    stsRegionalEndpoint: boolValue(values, "sts-regional-endpoint"),
    ...(region !== undefined && region !== "" ? { region } : {}),
  };
}

/**
 * The namespace of the ConfigMap --watch-config-map watches: --namespace, else $POD_NAMESPACE (the webhook's
 * own), else the reference's default "eks"; undefined without --watch-config-map.
 */
export function configMapNamespaceFrom(
  values: FlagValues,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (!boolValue(values, "watch-config-map")) return undefined;
  if (stringValue(values, "service-accounts-file") !== undefined)
    throw new ConfigError(
      "--watch-config-map needs a cluster: it cannot be used with --service-accounts-file",
    );
  const flag = stringValue(values, "namespace");
  const namespace = flag !== undefined && flag !== "" ? flag : env.POD_NAMESPACE || "eks";
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63)
    throw new ConfigError(
      `--namespace: ${JSON.stringify(namespace)} is not a namespace name (e.g. kube-system)`,
    );
  return namespace;
}

/** The --role-policy-file path, when one is given. */
export function rolePolicyFileFrom(values: FlagValues): string | undefined {
  const path = stringValue(values, "role-policy-file");
  return path === "" ? undefined : path;
}

export function serveConfigFrom(values: FlagValues): ServeConfig {
  const kubeconfig = stringValue(values, "kubeconfig");
  const rolePolicyFile = rolePolicyFileFrom(values);
  const serviceAccountsFile = stringValue(values, "service-accounts-file");
  if (kubeconfig !== undefined && serviceAccountsFile !== undefined) {
    throw new ConfigError(
      "--kubeconfig and --service-accounts-file exclude each other: choose a cluster or a file",
    );
  }
  return {
    engine: engineOptionsFrom(values),
    listenAddress: requiredString(values, "listen-address"),
    port: intValue(values, "port"),
    metricsPort: intValue(values, "metrics-port"),
    tlsCert: requiredString(values, "tls-cert"),
    tlsKey: requiredString(values, "tls-key"),
    generateSelfSigned: boolValue(values, "generate-self-signed"),
    lookupTimeoutMs: intValue(values, "lookup-timeout"),
    lookupRatePerSecond: intValue(values, "lookup-rate"),
    negativeCacheTtlMs: intValue(values, "negative-cache-ttl"),
    maxBodyBytes: intValue(values, "max-body-bytes"),
    maxReviewsInFlight: intValue(values, "max-reviews-in-flight"),
    maxBytesInFlight: intValue(values, "max-bytes-in-flight"),
    maxConnections: intValue(values, "max-connections"),
    shutdownTimeoutMs: intValue(values, "shutdown-timeout"),
    shutdownDelayMs: intValue(values, "shutdown-delay"),
    logLevel: requiredString(values, "log-level"),
    events: boolValue(values, "events"),
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    ...(serviceAccountsFile !== undefined ? { serviceAccountsFile } : {}),
    ...(rolePolicyFile !== undefined ? { rolePolicyFile } : {}),
  };
}
