// The webhook's flags: one table that drives parsing, environment twins, validation and --help.

export type FlagKind = "string" | "int" | "bool" | "list";

export interface FlagSpec {
  /** Flag name without dashes, e.g. "token-expiration". */
  readonly name: string;
  readonly kind: FlagKind;
  readonly help: string;
  /** Default as the string a user would type; absent means "unset". */
  readonly default?: string;
  /** Lowest and highest accepted value of an int flag. */
  readonly min?: number;
  readonly max?: number;
  /** Accepted values of a string flag. */
  readonly choices?: readonly string[];
  /** false: no environment twin (flags kept only so the reference webhook's command lines parse). */
  readonly environment?: false;
}

/** The environment variable that sets a flag: WEB_IDENTITY_WEBHOOK_ + the name in upper snake case. */
export function envName(flag: string): string {
  return `WEB_IDENTITY_WEBHOOK_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Flags that shape what the engine injects; shared by `serve` and `mutate`. */
export const engineFlags: readonly FlagSpec[] = [
  {
    name: "annotation-prefix",
    kind: "string",
    default: "eks.amazonaws.com",
    help: "Prefix of the ServiceAccount and pod annotations read (role-arn, audience, ...)",
  },
  {
    name: "token-audience",
    kind: "string",
    default: "sts.amazonaws.com",
    help: "Default audience of the projected token",
  },
  {
    name: "token-mount-path",
    kind: "string",
    default: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
    help: "Where the token volume is mounted in each container",
  },
  {
    name: "token-expiration",
    kind: "int",
    default: "86400",
    min: 600,
    max: 86400,
    help: "Default lifetime of the projected token in seconds (600..86400)",
  },
  {
    name: "aws-default-region",
    kind: "string",
    help: "If set, inject AWS_REGION and AWS_DEFAULT_REGION with this value",
  },
  {
    name: "sts-regional-endpoint",
    kind: "bool",
    default: "false",
    help: "Inject AWS_STS_REGIONAL_ENDPOINTS=regional into every mutated container",
  },
  {
    name: "role-policy-file",
    kind: "string",
    help: "YAML file of the IAM role ARN patterns each namespace may use (see the README); unset: any role",
  },
];

/** Flags of the long-running server. */
export const serveFlags: readonly FlagSpec[] = [
  ...engineFlags,
  {
    name: "listen-address",
    kind: "string",
    default: "0.0.0.0",
    help: "Address the HTTPS admission server binds",
  },
  {
    name: "port",
    kind: "int",
    default: "8443",
    min: 0,
    max: 65535,
    help: "HTTPS port of the admission server (0: any free port, logged at start)",
  },
  {
    name: "metrics-port",
    kind: "int",
    default: "9999",
    min: 0,
    max: 65535,
    help: "Plain HTTP port of /metrics (0 disables)",
  },
  {
    name: "tls-cert",
    kind: "string",
    default: "certs/tls.crt",
    help: "PEM serving certificate; reloaded when it changes",
  },
  {
    name: "tls-key",
    kind: "string",
    default: "certs/tls.key",
    help: "PEM private key of the serving certificate",
  },
  {
    name: "generate-self-signed",
    kind: "bool",
    default: "false",
    help: "For local runs: create a self-signed certificate at --tls-cert/--tls-key when they do not exist",
  },
  { name: "kubeconfig", kind: "string", help: "kubeconfig to reach the API server (default: in-cluster)" },
  {
    name: "service-accounts-file",
    kind: "string",
    help: "YAML list of ServiceAccounts to use instead of a cluster (local runs, tests)",
  },
  {
    name: "watch-config-map",
    kind: "bool",
    default: "false",
    help: "Also take roles from the reference's ConfigMap pod-identity-webhook (key config), watched in --namespace",
  },
  {
    name: "namespace",
    kind: "string",
    help: "Namespace of the --watch-config-map ConfigMap (default: the POD_NAMESPACE environment variable, else eks)",
  },
  {
    name: "lookup-timeout",
    kind: "int",
    default: "2000",
    min: 100,
    max: 30000,
    help: "Milliseconds a live ServiceAccount GET may take on a cache miss",
  },
  {
    name: "lookup-rate",
    kind: "int",
    default: "20",
    min: 1,
    max: 10000,
    help: "Live ServiceAccount GETs per second on cache misses, in bursts of up to twice that; a miss over the rate is answered like a timed-out lookup (pod admitted without credentials, with a warning)",
  },
  {
    name: "negative-cache-ttl",
    kind: "int",
    default: "5000",
    min: 0,
    max: 60000,
    help: "Milliseconds a live GET's 'not found' is remembered, so repeated misses of one name cost one GET; the watch adding the name ends it early (0: off)",
  },
  {
    name: "max-body-bytes",
    kind: "int",
    // etcd stores an object of at most 1.5 MiB; a CREATE review carries it once (oldObject is null), and
    // 512 KiB more is room for the envelope (userInfo) and JSON's field names over the stored protobuf.
    default: "2097152",
    min: 1024,
    max: 67108864,
    help: "Largest accepted AdmissionReview body; larger ones get 413",
  },
  {
    name: "max-reviews-in-flight",
    kind: "int",
    default: "2000",
    min: 1,
    max: 100000,
    help: "Reviews received and not yet answered, at most; more get 429 with Retry-After (the API server counts a 429 as a webhook failure: keep this well above a burst of pod creations)",
  },
  {
    name: "max-bytes-in-flight",
    kind: "int",
    default: "33554432",
    min: 1024,
    max: 1073741824,
    help: "Request body bytes of those reviews, at most (a chunked body counts as --max-body-bytes); more get 429 with Retry-After. Bounds the memory a flood of large reviews can take",
  },
  {
    name: "max-connections",
    kind: "int",
    default: "4096",
    min: 16,
    max: 1000000,
    help: "Open connections to the HTTPS port, at most; near the limit idle kept-alive connections are closed to make room. Keep it below the process's file descriptor limit",
  },
  {
    name: "shutdown-delay",
    kind: "int",
    default: "3000",
    min: 0,
    max: 600000,
    help: "Milliseconds to keep serving after SIGTERM, with /readyz failing and each answer closing its connection, before the listener closes (lets the endpoint be removed first)",
  },
  {
    name: "shutdown-timeout",
    kind: "int",
    default: "20000",
    min: 0,
    max: 600000,
    help: "Milliseconds to finish in-flight reviews after SIGTERM",
  },
  {
    name: "events",
    kind: "bool",
    default: "true",
    help: "Record review warnings as Kubernetes Events on the pod's controller (or its ServiceAccount), aggregated and rate-limited",
  },
  {
    name: "log-level",
    kind: "string",
    default: "info",
    choices: ["trace", "debug", "info", "warn", "error", "fatal", "silent"],
    help: "Log level",
  },
];
