// `web-identity-webhook doctor`: checks a live cluster end to end and prints one line per check.

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { engineFlags, type FlagSpec } from "../config/flags.js";
import {
  ConfigError,
  type FlagValues,
  formatFlagHelp,
  listValue,
  requiredString,
  stringValue,
} from "../config/parse.js";
import type { DoctorApi } from "../doctor/api.js";
import { type DoctorOptions, diagnose } from "../doctor/doctor.js";
import { issuerProblem } from "../oidc/issuer.js";
import { formatCheck } from "../oidc/verify.js";
import { type CliIo, exitCode } from "./io.js";
import { parseCommandFlags } from "./oidc.js";

const networkTimeoutMs = 10_000;
const probeTimeouts = { connectMs: 2_000, answerMs: 5_000 };

const annotationPrefixFlag = engineFlags.find((flag) => flag.name === "annotation-prefix") as FlagSpec;

const doctorFlags: readonly FlagSpec[] = [
  {
    name: "kubeconfig",
    kind: "string",
    help: "kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
  },
  {
    name: "webhook-config-name",
    kind: "string",
    default: "web-identity-webhook",
    help: "Name of the MutatingWebhookConfiguration (the chart names it after the release)",
  },
  annotationPrefixFlag,
  {
    name: "issuer-url",
    kind: "string",
    help: "Issuer to check (default: the issuer the cluster puts in its tokens)",
  },
  {
    name: "ca-file",
    kind: "string",
    help: "Extra CA to trust for the issuer, for local tests only: STS expects a publicly trusted certificate",
  },
  {
    name: "namespace-limit",
    kind: "list",
    help: "Check the ServiceAccounts of these namespaces only (comma-separated or repeated; default: all)",
  },
];

const usage = `Usage: web-identity-webhook doctor [flags]

Checks a live cluster end to end and prints one line per check, "ok" or "FAIL ... — fix: ...":
  1. the MutatingWebhookConfiguration sends pods CREATE to a webhook, sideEffects None, with a caBundle;
  2. the certificate the webhook serves verifies against that caBundle, for the name the API server uses
     (a direct TLS connection to the webhook: run doctor where the cluster network is reachable);
  3. the webhook allows a test AdmissionReview (dry run), and answers /healthz through the API server;
  4. every ServiceAccount's role-arn annotation is an IAM role ARN, and no annotation key is misspelled;
  5. the cluster's issuer is published where STS looks, with every key the cluster signs tokens with.
It changes nothing (the review is a dry run); the kubeconfig's user needs get/list on these objects
and get on services/proxy.
Exit codes: 0 every check passed, 1 a check failed, 2 bad flags or input.

Flags:
${formatFlagHelp(doctorFlags)}
`;

/** Runs `doctor ...`; returns the exit code (0 all passed, 1 a check failed, 2 bad usage or input). */
export async function runDoctor(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(usage);
    return exitCode.ok;
  }
  let api: DoctorApi;
  let options: DoctorOptions;
  try {
    const values = parseCommandFlags(doctorFlags, argv, io.env);
    options = doctorOptions(values);
    api = await realApi(values, io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`web-identity-webhook doctor: ${error.message}\n`);
      return exitCode.usage;
    }
    throw error;
  }
  let failed = false;
  for await (const check of diagnose(api, options)) {
    if (!check.ok) failed = true;
    io.stdout.write(`${formatCheck(check)}\n`);
  }
  return failed ? exitCode.failed : exitCode.ok;
}

function doctorOptions(values: FlagValues): DoctorOptions {
  const issuerUrl = stringValue(values, "issuer-url");
  const issuerUrlProblem = issuerUrl === undefined ? undefined : issuerProblem(issuerUrl);
  if (issuerUrlProblem !== undefined) throw new ConfigError(`--issuer-url: ${issuerUrlProblem}`);
  const namespaces = listValue(values, "namespace-limit");
  return {
    webhookConfigurationName: requiredString(values, "webhook-config-name"),
    annotationPrefix: requiredString(values, "annotation-prefix"),
    issuerUrl,
    namespaces: namespaces.length === 0 ? undefined : namespaces,
    reviewUid: `web-identity-webhook-doctor-${randomUUID()}`,
    now: new Date(),
  };
}

async function realApi(values: FlagValues, env: NodeJS.ProcessEnv): Promise<DoctorApi> {
  const caFile = stringValue(values, "ca-file");
  let issuerCa: string | undefined;
  if (caFile !== undefined) {
    try {
      issuerCa = await readFile(caFile, "utf8");
    } catch (error) {
      throw new ConfigError(
        `--ca-file: cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
  }
  // Loaded here, not at the top: the client takes seconds to import.
  const [{ KubeConfig }, { createKubeDoctorApi }] = await Promise.all([
    import("@kubernetes/client-node"),
    import("../doctor/kube-api.js"),
  ]);
  const kubeConfig = new KubeConfig();
  const path = stringValue(values, "kubeconfig");
  try {
    if (path !== undefined && path !== "") kubeConfig.loadFromFile(path);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    throw new ConfigError(
      `--kubeconfig: cannot load ${path ?? "the default kubeconfig"} (${(error as Error).message})`,
    );
  }
  if (kubeConfig.getCurrentCluster() === null) {
    throw new ConfigError(`--kubeconfig: ${path ?? "the default kubeconfig"} has no current cluster`);
  }
  return createKubeDoctorApi(kubeConfig, {
    timeoutMs: networkTimeoutMs,
    probe: probeTimeouts,
    issuerCa,
    env,
  });
}
