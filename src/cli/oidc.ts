// `web-identity-webhook oidc generate|export|verify`: publish the cluster's ServiceAccount issuer for AWS STS and check it.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FlagSpec } from "../config/flags.js";
import {
  ConfigError,
  type FlagValues,
  formatFlagHelp,
  listValue,
  parseFlags,
  requiredString,
  stringValue,
} from "../config/parse.js";
import { ClusterExportError, fetchClusterDocuments, rebaseClusterDocuments } from "../oidc/cluster.js";
import { buildIssuerDocuments, type IssuerDocuments, publishedFiles } from "../oidc/documents.js";
import { issuerGetter } from "../oidc/http.js";
import { issuerProblem, stsAudience } from "../oidc/issuer.js";
import { KeyError, parseServiceAccountKeys, type ServiceAccountKey } from "../oidc/keys.js";
import { formatCheck, verifyIssuer } from "../oidc/verify.js";
import { type CliIo, exitCode } from "./io.js";

const networkTimeoutMs = 10_000;
const minimumRsaBits = 2048;

const issuerFlag: FlagSpec = {
  name: "issuer",
  kind: "string",
  help: "Public https URL of the issuer, no trailing slash; must equal kube-apiserver's first --service-account-issuer",
};
const outFlag: FlagSpec = {
  name: "out",
  kind: "string",
  help: "Directory to write .well-known/openid-configuration and openid/v1/jwks into (upload it as is)",
};

const oidcGenerateFlags: readonly FlagSpec[] = [
  issuerFlag,
  {
    name: "public-key",
    kind: "list",
    help: "PEM file with ServiceAccount keys: public or private, RSA or EC, several per file; repeat for every file of --service-account-key-file",
  },
  outFlag,
];

const oidcExportFlags: readonly FlagSpec[] = [
  {
    name: "kubeconfig",
    kind: "string",
    help: "kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
  },
  issuerFlag,
  outFlag,
];

const oidcVerifyFlags: readonly FlagSpec[] = [
  issuerFlag,
  {
    name: "token",
    kind: "string",
    help: "File with a ServiceAccount token to check against the published keys",
  },
  { name: "audience", kind: "string", default: stsAudience, help: "Audience the token must carry" },
  {
    name: "ca-file",
    kind: "string",
    help: "Extra CA to trust, for local tests only: STS expects a publicly trusted certificate",
  },
];

const usage = `Usage: web-identity-webhook oidc <command> [flags]

Publish your cluster's ServiceAccount token issuer so AWS STS trusts it, and check the result.

Commands:
  generate  write the discovery document and JWKS from kube-apiserver's ServiceAccount key files
  export    write them from a running cluster's own /.well-known/openid-configuration and /openid/v1/jwks
  verify    fetch the published documents over HTTPS and check what STS checks (and a token)

Run 'web-identity-webhook oidc <command> --help' for its flags. Guide: docs/self-hosted.md
Exit codes: 0 ok, 1 a check or the operation failed, 2 bad flags or input.
`;

const commandUsage: Readonly<
  Record<string, { synopsis: string; about: string; flags: readonly FlagSpec[] }>
> = {
  generate: {
    synopsis: "oidc generate --issuer URL --public-key FILE [--public-key FILE ...] --out DIR",
    about:
      "Writes DIR/.well-known/openid-configuration and DIR/openid/v1/jwks exactly as kube-apiserver serves them\n" +
      "(same kid, alg and use per key), for the issuer URL. Give every key kube-apiserver accepts, old and new,\n" +
      "so tokens signed by either verify while you rotate. Then upload DIR, e.g. aws s3 sync DIR s3://BUCKET/PATH.",
    flags: oidcGenerateFlags,
  },
  export: {
    synopsis: "oidc export [--kubeconfig FILE] --issuer URL --out DIR",
    about:
      "Reads the cluster's own issuer documents through its API server (with the kubeconfig's credentials)\n" +
      "and writes them to DIR with issuer and jwks_uri pointing at the public issuer URL. Warns when the\n" +
      "cluster's tokens carry a different iss, which STS would reject.",
    flags: oidcExportFlags,
  },
  verify: {
    synopsis: "oidc verify --issuer URL [--token FILE] [--audience AUD] [--ca-file FILE]",
    about:
      "Fetches ISSUER/.well-known/openid-configuration and the JWKS over HTTPS and checks what STS checks:\n" +
      "issuer identical byte for byte, jwks_uri reachable over https, every key usable (kid, RS256/ES256...,\n" +
      "RSA >= 2048 bits). With --token: signature, iss, aud, exp, and prints the subject. One line per check;\n" +
      "exits 1 when any fails. STS needs a publicly trusted certificate (others only through a thumbprint pinned\n" +
      "in the IAM provider): --ca-file is for local tests only.",
    flags: oidcVerifyFlags,
  },
};

/** Runs `oidc <command> ...`; returns the exit code (0 ok, 1 failed, 2 bad usage or input). */
export async function runOidc(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    (command === undefined ? io.stderr : io.stdout).write(usage);
    return command === undefined ? exitCode.usage : exitCode.ok;
  }
  const help = commandUsage[command];
  if (help === undefined) {
    io.stderr.write(
      `web-identity-webhook oidc: unknown command ${JSON.stringify(command)} (generate, export, verify)\n`,
    );
    return exitCode.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(
      `Usage: web-identity-webhook ${help.synopsis}\n\n${help.about}\n\nFlags:\n${formatFlagHelp(help.flags)}\n`,
    );
    return exitCode.ok;
  }
  try {
    const values = parseCommandFlags(help.flags, rest, io.env);
    if (command === "generate") return await generate(values, io);
    if (command === "export") return await exportFromCluster(values, io);
    return await verify(values, io);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof KeyError || error instanceof InputError) {
      io.stderr.write(`web-identity-webhook oidc ${command}: ${error.message}\n`);
      return exitCode.usage;
    }
    if (error instanceof ClusterExportError || error instanceof OutputError) {
      io.stderr.write(`web-identity-webhook oidc ${command}: ${error.message}\n`);
      return exitCode.failed;
    }
    throw error;
  }
}

/** A file named on the command line could not be read. */
class InputError extends Error {
  override readonly name = "InputError";
}

/** The output directory could not be written. */
class OutputError extends Error {
  override readonly name = "OutputError";
}

/** parseFlags for a command that takes no positional arguments. */
export function parseCommandFlags(
  specs: readonly FlagSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): FlagValues {
  const { values, positionals } = parseFlags(specs, argv, env);
  if (positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  return values;
}

function validIssuer(values: FlagValues): string {
  const issuer = requiredString(values, "issuer");
  const problem = issuerProblem(issuer);
  if (problem !== undefined) throw new ConfigError(`--issuer: ${problem}`);
  return issuer;
}

async function readInput(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(
      `--${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

async function generate(values: FlagValues, io: CliIo): Promise<number> {
  const issuer = validIssuer(values);
  const files = listValue(values, "public-key");
  if (files.length === 0)
    throw new ConfigError("--public-key is required (a PEM file; repeat it for several)");
  const out = requiredString(values, "out");
  const keys: ServiceAccountKey[] = [];
  for (const file of files) {
    const parsed = parseServiceAccountKeys(await readInput("public-key", file), file);
    for (const warning of parsed.warnings) io.stderr.write(`warning: ${warning}\n`);
    keys.push(...parsed.keys);
  }
  for (const key of keys) {
    const bits = key.publicKey.asymmetricKeyDetails?.modulusLength;
    if (bits !== undefined && bits < minimumRsaBits) {
      io.stderr.write(
        `warning: ${key.origin}: RSA key of ${bits} bits; STS needs at least ${minimumRsaBits}\n`,
      );
    }
  }
  await writeDocuments(out, await buildIssuerDocuments(issuer, keys), io);
  for (const key of keys) io.stdout.write(`key  ${key.keyId} ${key.algorithm} from ${key.origin}\n`);
  io.stdout.write(
    `next: upload ${out} so it is served at ${issuer}, then run: web-identity-webhook oidc verify --issuer ${issuer}\n`,
  );
  return exitCode.ok;
}

async function exportFromCluster(values: FlagValues, io: CliIo): Promise<number> {
  const issuer = validIssuer(values);
  const out = requiredString(values, "out");
  // Loaded here, not at the top: the client takes seconds to import and only export needs it.
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  const path = stringValue(values, "kubeconfig");
  try {
    if (path !== undefined && path !== "") kubeConfig.loadFromFile(path);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    throw new InputError(
      `--kubeconfig: cannot load ${path ?? "the default kubeconfig"} (${(error as Error).message})`,
    );
  }
  const cluster = await fetchClusterDocuments(kubeConfig, networkTimeoutMs);
  const { documents, clusterIssuer } = rebaseClusterDocuments(issuer, cluster);
  if (clusterIssuer !== issuer) {
    io.stderr.write(
      `warning: the cluster's tokens carry iss ${JSON.stringify(clusterIssuer)}, not ${JSON.stringify(issuer)}; ` +
        `STS rejects them until kube-apiserver's first --service-account-issuer is ${issuer} ` +
        `(docs/self-hosted.md, "Migrating an existing cluster")\n`,
    );
  }
  await writeDocuments(out, documents, io);
  for (const key of documents.jwks.keys) io.stdout.write(`key  ${key.kid} ${key.alg}\n`);
  return exitCode.ok;
}

async function verify(values: FlagValues, io: CliIo): Promise<number> {
  const issuer = requiredString(values, "issuer");
  if (!URL.canParse(issuer)) throw new ConfigError(`--issuer: ${JSON.stringify(issuer)} is not a URL`);
  const tokenFile = stringValue(values, "token");
  const caFile = stringValue(values, "ca-file");
  const token = tokenFile !== undefined ? (await readInput("token", tokenFile)).trim() : undefined;
  const ca = caFile !== undefined ? await readInput("ca-file", caFile) : undefined;
  const checks = await verifyIssuer(
    { issuer, audience: requiredString(values, "audience"), ...(token !== undefined ? { token } : {}) },
    {
      get: issuerGetter({ ...(ca !== undefined ? { ca } : {}), timeoutMs: networkTimeoutMs, env: io.env }),
      now: () => new Date(),
    },
  );
  for (const check of checks) io.stdout.write(`${formatCheck(check)}\n`);
  return checks.every((check) => check.ok) ? exitCode.ok : exitCode.failed;
}

async function writeDocuments(out: string, documents: IssuerDocuments, io: CliIo): Promise<void> {
  for (const file of publishedFiles(documents)) {
    const path = join(out, file.path);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.body);
    } catch (error) {
      throw new OutputError(
        `cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    io.stdout.write(`wrote ${path}\n`);
  }
}
