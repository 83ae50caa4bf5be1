// A real OCI registry for the release tests: Debian's docker-registry (distribution 2.8) over HTTPS with a test CA.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { type ManagedProcess, startProcess } from "../../e2e/cluster/process.js";
import { waitUntilReady } from "../../e2e/cluster/wait.js";
import { freePort } from "../../support/ports.js";
import { createCa, issueServing } from "../../unit/doctor/certificates.js";
import { inNamespace, type NetworkNamespace } from "./netns.js";

/** Debian's package docker-registry installs distribution here; $DOCKER_REGISTRY points elsewhere. */
export const registryBinary = process.env.DOCKER_REGISTRY ?? "/usr/bin/docker-registry";

export interface RegistryOptions {
  /** A folder of the caller's (it removes it): config, certificates, storage and the log go here. */
  readonly dir: string;
  /**
   * The IP address to listen on and to name in the serving certificate; default 127.0.0.1. helm 3 speaks plain
   * HTTP to any loopback registry whatever its flags (helm/helm#11683), so a test that pushes a chart over TLS
   * passes a non-loopback address, inside a network namespace of its own.
   */
  readonly address?: string;
  /** Start the registry inside this namespace (on its address unless `address` says otherwise); its clients run there too. */
  readonly netns?: NetworkNamespace;
  /** The port; default a free one on 127.0.0.1 (see test/support/ports.ts). */
  readonly port?: number;
}

export interface Registry {
  /** ADDRESS:PORT, the registry part of an image reference (`${host}/repo:tag`, `oci://${host}/charts`). */
  readonly host: string;
  /** PEM of the CA that signed the registry's serving certificate. */
  readonly caCertPath: string;
  readonly logPath: string;
  readonly process: ManagedProcess;
  /** Stops the registry and waits until it has exited; the caller removes `dir`. */
  stop(): Promise<void>;
}

/** Starts docker-registry on `address` with a fresh CA and serving certificate, and waits until /v2/ answers. */
export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const address = options.address ?? options.netns?.address ?? "127.0.0.1";
  if (isIP(address) === 0) {
    throw new Error(`startRegistry: address "${address}" is not an IP address; pass the one to listen on`);
  }
  const port = options.port ?? (await freePort());
  const host = isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
  const { dir } = options;
  await mkdir(join(dir, "storage"), { recursive: true });

  const ca = await createCa("web-identity-webhook test registry CA");
  const serving = await issueServing(ca, { ips: [address] });
  const caCertPath = join(dir, "ca.crt");
  const certPath = join(dir, "registry.crt");
  const keyPath = join(dir, "registry.key");
  const configPath = join(dir, "config.yml");
  const logPath = join(dir, "registry.log");
  await Promise.all([
    writeFile(caCertPath, ca.cert),
    writeFile(certPath, serving.cert),
    writeFile(keyPath, serving.key, { mode: 0o600 }),
    writeFile(configPath, stringify(registryConfig({ dir, host, certPath, keyPath }))),
  ]);

  const [command, args] = inNamespace(options.netns, registryBinary, ["serve", configPath]);
  const child = startProcess({ name: "docker-registry", command, args, logPath });
  await waitUntilReady(() => answersV2(host, caCertPath, options.netns), {
    what: `the registry at https://${host}/v2/`,
    process: child,
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  return { host, caCertPath, logPath, process: child, stop: () => child.stop() };
}

interface ConfigInputs {
  readonly dir: string;
  readonly host: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** distribution's configuration: filesystem storage in dir, TLS only, deletes allowed, no access log noise. */
function registryConfig({ dir, host, certPath, keyPath }: ConfigInputs): object {
  return {
    version: 0.1,
    log: { level: "info", formatter: "text", accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, "storage") },
      delete: { enabled: true },
      // The upload purger walks storage on a timer; a registry that lives for one test has nothing to purge.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: host,
      // A fixed secret keeps the "no HTTP secret provided" warning out of the log; uploads never outlive the test.
      secret: "web-identity-webhook-test-registry",
      tls: { certificate: certPath, key: keyPath },
    },
  };
}

/**
 * Whether GET /v2/ answers 200 over TLS verified against the CA: the registry API is up. curl, not node's https,
 * because it must run where the registry's clients run, which may be inside a namespace this process is not in.
 */
function answersV2(host: string, caCertPath: string, netns: NetworkNamespace | undefined): Promise<boolean> {
  const curlArgs = [
    "--silent",
    "--show-error",
    "--fail",
    "--noproxy",
    "*",
    "--max-time",
    "2",
    "--cacert",
    caCertPath,
    "--output",
    "/dev/null",
  ];
  const [command, args] = inNamespace(netns, "curl", [...curlArgs, `https://${host}/v2/`]);
  return new Promise((resolve, reject) =>
    execFile(command, args, (error, _stdout, stderr) =>
      error === null
        ? resolve(true)
        : reject(new Error(`curl https://${host}/v2/: ${stderr.trim() || error.message}`)),
    ),
  );
}
