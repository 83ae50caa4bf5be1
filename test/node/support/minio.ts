// Runs MinIO as the node suite's STS and S3: it verifies ServiceAccount tokens against the cluster's OpenID discovery.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ManagedProcess, startProcess } from "../../e2e/cluster/process.js";
import { waitUntilReady } from "../../e2e/cluster/wait.js";
import { lastLine } from "../../release/support/tools.js";
import { runCommand } from "../../support/command.js";
import { freePort } from "../../support/ports.js";

export interface MinioOptions {
  /** The minio binary; see ensureMinioBinary(). */
  binary: string;
  /** Parent folder of MinIO's own temp folder (data, certs, log). */
  dir: string;
  /** The issuer's discovery document, e.g. https://API-SERVER/.well-known/openid-configuration. */
  openIdConfigUrl: string;
  /** The audience a web-identity token must carry (MinIO checks `aud`, then `azp`). */
  clientId: string;
  /** PEM of the CA that signed the discovery and JWKS endpoints' certificates. */
  caCertPem: string;
  /** Address to listen on; pods reach MinIO at the node's IP. Defaults to 127.0.0.1. */
  host?: string;
  /** The policy every web-identity session gets. Defaults to readwrite. */
  rolePolicy?: string;
}

export interface RootCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Minio {
  /** http://HOST:PORT: S3 and STS share it (AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_STS). */
  endpoint: string;
  /** The role ARN MinIO printed for the OpenID provider, for AssumeRoleWithWebIdentity and the annotation. */
  roleArn: string;
  /** The region MinIO signs for (its default, us-east-1). */
  region: string;
  root: RootCredentials;
  /** Stops MinIO and removes its folder; safe to call more than once. */
  stop(): Promise<void>;
}

const region = "us-east-1";
const buildScript = fileURLToPath(new URL("../../../scripts/build-tools.sh", import.meta.url));

/** The path of the minio binary, built from its Go module by scripts/build-tools.sh on first use (about 6 min). */
export async function ensureMinioBinary(): Promise<string> {
  const binary = lastLine(await runCommand("bash", [buildScript, "minio"], { timeoutMs: 1_800_000 }));
  if (binary === "") throw new Error(`${buildScript} minio printed no binary path`);
  return binary;
}

// MinIO logs "IAM Roles: arn:minio:iam:<region>::role/<id>" once its IAM system has loaded the OpenID provider.
const roleArnPattern = /arn:minio:iam:[a-z0-9-]*::role\/[\w-]+/;
const ansiEscapes = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The role ARN in MinIO's log, or undefined while it has not printed one. */
function roleArnInLog(log: string): string | undefined {
  return roleArnPattern.exec(log.replace(ansiEscapes, ""))?.[0];
}

async function healthy(endpoint: string): Promise<boolean> {
  const response = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  return response.ok;
}

/**
 * Starts a single-drive MinIO whose only identity provider is the OpenID one of options, and waits until it
 * serves and has printed the provider's role ARN. The console is off.
 */
export async function startMinio(options: MinioOptions): Promise<Minio> {
  const dir = await mkdtemp(join(options.dir, "minio-"));
  const host = options.host ?? "127.0.0.1";
  const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${await freePort()}`;
  const root: RootCredentials = {
    accessKeyId: `root-${randomBytes(4).toString("hex")}`,
    secretAccessKey: randomBytes(18).toString("base64url"),
  };
  const certsDir = join(dir, "certs");
  // MinIO trusts every certificate in CERTS_DIR/CAs, besides the system's, when it fetches the discovery document.
  await mkdir(join(certsDir, "CAs"), { recursive: true });
  await writeFile(join(certsDir, "CAs", "cluster-ca.crt"), options.caCertPem);
  const logPath = join(dir, "minio.log");
  const environment = {
    MINIO_ROOT_USER: root.accessKeyId,
    MINIO_ROOT_PASSWORD: root.secretAccessKey,
    MINIO_REGION: region,
    MINIO_BROWSER: "off",
    MINIO_UPDATE: "off",
    MINIO_IDENTITY_OPENID_CONFIG_URL: options.openIdConfigUrl,
    MINIO_IDENTITY_OPENID_CLIENT_ID: options.clientId,
    MINIO_IDENTITY_OPENID_ROLE_POLICY: options.rolePolicy ?? "readwrite",
  };
  let child: ManagedProcess | undefined;
  try {
    // startProcess passes its own environment (without proxy settings, which would carry MinIO's calls to the
    // issuer away); env(1) adds MinIO's settings to it.
    child = startProcess({
      name: "minio",
      command: "/usr/bin/env",
      args: [
        ...Object.entries(environment).map(([name, value]) => `${name}=${value}`),
        options.binary,
        "server",
        `--address=${new URL(endpoint).host}`,
        `--certs-dir=${certsDir}`,
        join(dir, "data"),
      ],
      logPath,
    });
    let roleArn: string | undefined;
    await waitUntilReady(
      async () => {
        if (!(await healthy(endpoint))) return false;
        roleArn = roleArnInLog(await readFile(logPath, "utf8"));
        if (roleArn === undefined)
          throw new Error(
            `MinIO serves but has printed no IAM role ARN: it could not load ${options.openIdConfigUrl} ` +
              "(the API server serves it to anonymous callers only with a ClusterRoleBinding of " +
              "system:service-account-issuer-discovery to system:unauthenticated)",
          );
        return true;
      },
      {
        what: `MinIO at ${endpoint} with its OpenID role`,
        process: child,
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    if (roleArn === undefined)
      throw new Error(`MinIO at ${endpoint} was ready without a role ARN; see ${logPath}`);
    const started = child;
    let stopped = false;
    return {
      endpoint,
      roleArn,
      region,
      root,
      async stop() {
        if (stopped) return;
        stopped = true;
        await started.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // dir is left to the caller, whose folder it is in: the error above already quotes minio.log.
    await child?.stop();
    throw error;
  }
}
