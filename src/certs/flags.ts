// The flags of the certificate mode: where the serving certificate comes from and, when self-managed, where it lives.

import type { FlagSpec } from "../config/flags.js";

/** Flags of `serve` that choose and configure the certificate mode. */
export const certificateFlags: readonly FlagSpec[] = [
  {
    name: "cert-mode",
    kind: "string",
    default: "file",
    choices: ["file", "self-managed"],
    help: "file: serve --tls-cert/--tls-key; self-managed: keep a CA and serving certificate in a Secret and the webhook's caBundle up to date",
  },
  {
    name: "cert-secret-name",
    kind: "string",
    help: "self-managed: Secret (type kubernetes.io/tls) holding tls.crt, tls.key, ca.crt and ca.key",
  },
  {
    name: "cert-secret-namespace",
    kind: "string",
    help: "self-managed: namespace of --cert-secret-name (default: the POD_NAMESPACE environment variable)",
  },
  {
    name: "webhook-config-name",
    kind: "string",
    help: "self-managed: MutatingWebhookConfiguration whose webhooks' clientConfig.caBundle is kept in sync",
  },
  {
    name: "service-name",
    kind: "string",
    help: "self-managed: Service in front of the webhook; the serving certificate is issued for its DNS names",
  },
  {
    name: "service-namespace",
    kind: "string",
    help: "self-managed: namespace of --service-name (default: --cert-secret-namespace)",
  },
  {
    name: "cert-validity-days",
    kind: "int",
    default: "365",
    min: 1,
    max: 3650,
    help: "self-managed: lifetime of the serving certificate in days (1..3650), capped at its CA's expiry (CAs live 5 years)",
  },
  {
    name: "cert-renew-before-days",
    kind: "int",
    default: "30",
    min: 1,
    max: 365,
    help: "self-managed: renew the serving certificate (or rotate the CA) this many days before it expires (1..365, less than --cert-validity-days)",
  },
];
