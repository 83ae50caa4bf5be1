// The reference webhook's flags (aws/amazon-eks-pod-identity-webhook main.go and klog's): how `serve` treats each.

import type { FlagKind, FlagSpec } from "./flags.js";
import { ConfigError, type FlagValue, type FlagValues } from "./parse.js";

/**
 * same: one of our flags by the same name and meaning (it is parsed as ours);
 * ignored: parsed, and a start-up warning says it has no effect here;
 * refused: start-up stops, because running without what it asks for would leave pods without credentials
 * or weaken what the operator asked for. Some flags are ignored at one value and refused at another.
 */
export type ReferenceFlagHandling = "same" | "ignored" | "refused";

export interface ReferenceFlag {
  readonly name: string;
  readonly kind: FlagKind;
  /** The reference's default, as its --help prints it; absent: empty. */
  readonly referenceDefault?: string;
  /** What happens to the flag, in the words of the README's table. */
  readonly handling: ReferenceFlagHandling | "ignored or refused";
  readonly meaning: string;
  /**
   * For flags that are not ours: given the parsed value, a warning (ignored), a ConfigError (refused), or
   * undefined when the value asks for nothing (the reference's default).
   */
  readonly check?: (value: FlagValue) => string | ConfigError | undefined;
}

const issue = "issue 14, drop-in for the reference webhook";

/** Go's time.ParseDuration: "0", or signed decimal numbers each with a unit (300ms, 1m30s, 1.5h). */
const goDuration = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;

function ignoredUnless(asksNothing: (value: FlagValue) => boolean, why: string) {
  return (value: FlagValue): string | undefined => (asksNothing(value) ? undefined : why);
}

function ignored(why: string) {
  return (): string => why;
}

function duration(name: string, why: string) {
  return (value: FlagValue): string | ConfigError =>
    typeof value === "string" && goDuration.test(value)
      ? why
      : new ConfigError(`--${name}: ${JSON.stringify(value)} is not a Go duration (e.g. 60s, 1m30s)`);
}

function notSupportedYet(name: string, what: string) {
  return (value: FlagValue): ConfigError | undefined =>
    value === false || value === ""
      ? undefined
      : new ConfigError(`--${name} is not supported yet (${issue}): ${what}`);
}

const logging =
  "has no effect: the webhook logs JSON lines to stdout at --log-level (trace, debug, info, warn, error)";

function klogFlag(name: string, kind: FlagKind, referenceDefault?: string): ReferenceFlag {
  return {
    name,
    kind,
    ...(referenceDefault !== undefined ? { referenceDefault } : {}),
    handling: "ignored",
    meaning: "klog logging flag",
    check: ignored(logging),
  };
}

const containerCredentials =
  "has no effect: EKS Pod Identity (container credentials) is not injected by this webhook, and --watch-container-credentials-config is refused";

function containerCredentialsFlag(name: string, referenceDefault: string, meaning: string): ReferenceFlag {
  return {
    name,
    kind: "string",
    referenceDefault,
    handling: "ignored",
    meaning,
    check: ignoredUnless((value) => value === referenceDefault, containerCredentials),
  };
}

/** Every flag of the reference webhook's `main.go` (and klog's, which it registers), in its order. */
export const referenceFlags: readonly ReferenceFlag[] = [
  { name: "port", kind: "int", referenceDefault: "443", handling: "same", meaning: "HTTPS port" },
  {
    name: "metrics-port",
    kind: "int",
    referenceDefault: "9999",
    handling: "same",
    meaning: "plain HTTP port of /metrics",
  },
  { name: "kubeconfig", kind: "string", handling: "same", meaning: "kubeconfig file (default: in-cluster)" },
  {
    name: "kube-api",
    kind: "string",
    handling: "refused",
    meaning: "API server URL over the kubeconfig's",
    check: (value) =>
      value === ""
        ? undefined
        : new ConfigError(
            `--kube-api is not supported: put the API server's URL in a kubeconfig and pass --kubeconfig`,
          ),
  },
  {
    name: "tls-key",
    kind: "string",
    referenceDefault: "/etc/webhook/certs/tls.key",
    handling: "same",
    meaning: "PEM key file, reloaded when it changes",
  },
  {
    name: "tls-cert",
    kind: "string",
    referenceDefault: "/etc/webhook/certs/tls.crt",
    handling: "same",
    meaning: "PEM certificate file, reloaded when it changes",
  },
  {
    name: "tls-cipher-suites",
    kind: "string",
    handling: "refused",
    meaning: "TLS cipher suites",
    check: notSupportedYet(
      "tls-cipher-suites",
      "the webhook serves its own fixed list of forward-secret AEAD suites; remove the flag",
    ),
  },
  {
    name: "tls-min-version",
    kind: "string",
    handling: "ignored or refused",
    meaning:
      "lowest TLS version: 1.0, 1.1 and 1.2 are ignored (the webhook serves TLS 1.2 and 1.3 only); 1.3 is refused",
    check: (value) => {
      if (value === "") return undefined;
      if (value === "1.0" || value === "1.1" || value === "1.2")
        return "has no effect: the webhook serves TLS 1.2 and 1.3 only";
      if (value === "1.3")
        return new ConfigError(
          `--tls-min-version 1.3 is not supported yet (${issue}): the webhook also serves TLS 1.2; remove the flag`,
        );
      return new ConfigError(`--tls-min-version: ${JSON.stringify(value)} is not one of 1.0, 1.1, 1.2, 1.3`);
    },
  },
  {
    name: "in-cluster",
    kind: "bool",
    referenceDefault: "true",
    handling: "ignored or refused",
    meaning:
      "true: a serving certificate from the CertificateSigningRequest API, refused (use --cert-mode self-managed, or --tls-cert/--tls-key); false: ignored (ServiceAccounts come from the in-cluster configuration or --kubeconfig either way)",
    check: (value) =>
      value === false
        ? "has no effect: the API server is reached through --kubeconfig or the in-cluster configuration, and the certificate comes from --cert-mode"
        : new ConfigError(
            "--in-cluster=true (a serving certificate from the CertificateSigningRequest API) is not supported: " +
              "use --cert-mode self-managed, or --tls-cert/--tls-key with a certificate you issue; or pass --in-cluster=false",
          ),
  },
  {
    name: "service-name",
    kind: "string",
    referenceDefault: "pod-identity-webhook",
    handling: "same",
    meaning:
      "the Service in front of the webhook, named in its certificate (here with --cert-mode self-managed)",
  },
  {
    name: "namespace",
    kind: "string",
    referenceDefault: "eks",
    handling: "same",
    meaning:
      "namespace of --watch-config-map's ConfigMap (here default $POD_NAMESPACE, else eks; --cert-secret-namespace sets the self-managed Secret's)",
  },
  {
    name: "tls-secret",
    kind: "string",
    referenceDefault: "pod-identity-webhook",
    handling: "ignored",
    meaning: "Secret of --in-cluster's certificate (see --cert-secret-name)",
    check: ignored("has no effect: it is used only by --in-cluster=true (see --cert-secret-name)"),
  },
  {
    name: "annotation-prefix",
    kind: "string",
    referenceDefault: "eks.amazonaws.com",
    handling: "same",
    meaning: "prefix of the annotations read",
  },
  {
    name: "token-audience",
    kind: "string",
    referenceDefault: "sts.amazonaws.com",
    handling: "same",
    meaning: "default token audience",
  },
  {
    name: "token-mount-path",
    kind: "string",
    referenceDefault: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
    handling: "same",
    meaning: "where the token is mounted",
  },
  {
    name: "token-expiration",
    kind: "int",
    referenceDefault: "86400",
    handling: "same",
    meaning: "default token lifetime in seconds (here 600..86400; the reference raises a lower value to 600)",
  },
  {
    name: "aws-default-region",
    kind: "string",
    handling: "same",
    meaning: "AWS_REGION and AWS_DEFAULT_REGION injected",
  },
  {
    name: "sts-regional-endpoint",
    kind: "bool",
    referenceDefault: "false",
    handling: "same",
    meaning: "AWS_STS_REGIONAL_ENDPOINTS=regional injected",
  },
  {
    name: "watch-config-map",
    kind: "bool",
    referenceDefault: "false",
    handling: "same",
    meaning: "roles from the pod-identity-webhook ConfigMap, watched; a ServiceAccount's own role-arn wins",
  },
  {
    name: "compose-role-arn",
    kind: "bool",
    referenceDefault: "false",
    handling: "refused",
    meaning: "role-arn annotations holding a role name, completed from instance metadata",
    check: notSupportedYet(
      "compose-role-arn",
      "a role-arn annotation must hold a full IAM role ARN, so pods annotated with a role name would get no credentials",
    ),
  },
  {
    name: "watch-container-credentials-config",
    kind: "string",
    handling: "refused",
    meaning: "EKS Pod Identity (container credentials) configuration file",
    check: notSupportedYet(
      "watch-container-credentials-config",
      "EKS Pod Identity (container credentials) is not injected, so the pods it lists would get no credentials",
    ),
  },
  containerCredentialsFlag(
    "container-credentials-audience",
    "pods.eks.amazonaws.com",
    "EKS Pod Identity token audience",
  ),
  containerCredentialsFlag(
    "container-credentials-token-mount-path",
    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
    "EKS Pod Identity token mount path",
  ),
  containerCredentialsFlag(
    "container-credentials-token-volume-name",
    "eks-pod-identity-token",
    "EKS Pod Identity token volume",
  ),
  containerCredentialsFlag(
    "container-credentials-token-path",
    "eks-pod-identity-token",
    "EKS Pod Identity token file name",
  ),
  containerCredentialsFlag(
    "container-credentials-full-uri",
    "http://169.254.170.23/v1/credentials",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI injected",
  ),
  {
    name: "version",
    kind: "bool",
    referenceDefault: "false",
    handling: "refused",
    meaning: "print the version and exit",
    check: (value) =>
      value === false
        ? undefined
        : new ConfigError("serve --version is not supported: run `web-identity-webhook version`"),
  },
  {
    name: "enable-debugging-handlers",
    kind: "bool",
    referenceDefault: "false",
    handling: "ignored",
    meaning: "/debug/alpha/* endpoints",
    check: ignoredUnless(
      (value) => value === false,
      "has no effect: there are no debugging endpoints (logs at --log-level debug say what each review decided)",
    ),
  },
  {
    name: "service-account-lookup-grace-period",
    kind: "string",
    referenceDefault: "0s",
    handling: "ignored",
    meaning: "wait for a ServiceAccount missing from the cache (here: a live GET, --lookup-timeout)",
    check: duration(
      "service-account-lookup-grace-period",
      "has no effect: a ServiceAccount missing from the cache is fetched with a live GET bounded by --lookup-timeout",
    ),
  },
  {
    name: "resync-period",
    kind: "string",
    referenceDefault: "1m0s",
    handling: "ignored",
    meaning: "informer resync period",
    check: duration(
      "resync-period",
      "has no effect: the ServiceAccount cache follows a watch and needs no resync",
    ),
  },
  klogFlag("add_dir_header", "bool", "false"),
  klogFlag("alsologtostderr", "bool", "false"),
  klogFlag("log_backtrace_at", "string", ":0"),
  klogFlag("log_dir", "string"),
  klogFlag("log_file", "string"),
  klogFlag("log_file_max_size", "string", "1800"),
  klogFlag("logtostderr", "bool", "true"),
  klogFlag("one_output", "bool", "false"),
  klogFlag("skip_headers", "bool", "false"),
  klogFlag("skip_log_headers", "bool", "false"),
  klogFlag("stderrthreshold", "string", "2"),
  klogFlag("v", "string", "0"),
  klogFlag("vmodule", "string"),
];

/** The reference's flags that are not ours, parsed beside ours (without environment twins) so they can be judged. */
export const referenceOnlyFlags: readonly FlagSpec[] = referenceFlags
  .filter((flag) => flag.handling !== "same")
  .map((flag) => ({
    name: flag.name,
    kind: flag.kind,
    help: `reference webhook's --${flag.name}: ${flag.meaning}`,
    environment: false,
  }));

const checks = new Map(referenceFlags.map((flag) => [flag.name, flag.check]));

/**
 * Judges the reference-only flags given: start-up warnings for the ignored ones, in the reference's order.
 * Throws the ConfigError of the first refused one.
 */
export function referenceFlagWarnings(values: FlagValues): string[] {
  const warnings: string[] = [];
  for (const [name, value] of values) {
    const check = checks.get(name);
    if (check === undefined) continue;
    const verdict = check(value);
    if (verdict instanceof ConfigError) throw verdict;
    if (verdict !== undefined) warnings.push(`--${name}=${String(value)} ${verdict}`);
  }
  return warnings;
}
