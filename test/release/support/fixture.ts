// The release tests' world: a registry over TLS in a network namespace of its own, the tools CI uses, two cosign
// key pairs, and the commands the tests run against it (scripts/publish.sh, cosign verify, skopeo inspect).
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CommandResult, repoRoot, runCommand, runContainersTool } from "../../support/command.js";
import { createNetworkNamespace, type NetworkNamespace } from "./netns.js";
import { type Registry, startRegistry } from "./registry.js";
import { type ReleaseTools, releaseEnv, releaseTools, runIn } from "./tools.js";

/** The name scripts/build-image.sh gives the image in the project's container storage. */
export const localImage = "ghcr.io/web-identity-webhook/web-identity-webhook";
/** scripts/publish.sh's default repositories, the ones the release publishes to on ghcr.io. */
export const imageRepository = "web-identity-webhook/web-identity-webhook";
export const chartRepository = "web-identity-webhook/charts";
// TEST-NET-1: routed nowhere, and here only on the lo of a namespace with no way out.
const registryAddress = "192.0.2.10";
const keyPassword = "release-test-password";
const publishScript = join(repoRoot, "scripts/publish.sh");

export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

export interface ReleaseFixture {
  readonly tools: ReleaseTools;
  /** The test's folder: registry files, HOME, keys. Removed by stop(). */
  readonly dir: string;
  readonly netns: NetworkNamespace;
  readonly registry: Registry;
  /** A folder holding only the registry's CA as ca.crt, skopeo's form of a CA. */
  readonly certDir: string;
  /** releaseEnv with HOME in dir and COSIGN_PASSWORD of both key pairs. */
  readonly env: NodeJS.ProcessEnv;
  readonly key: KeyPair;
  readonly otherKey: KeyPair;
  /** scripts/publish.sh args... --registry <test registry> --ca-file <its CA>, inside the namespace. */
  publish(args: readonly string[]): Promise<CommandResult>;
  /** cosign verify --key publicKey of reference; rejects with cosign's message when verification fails. */
  cosignVerify(reference: string, publicKey: string): Promise<CommandResult>;
  /** The manifest digest a reference resolves to in the registry. */
  remoteDigest(reference: string): Promise<string>;
  /** The config digest of the image a reference names (the image's identity, whatever its manifest). */
  remoteConfigDigest(reference: string): Promise<string>;
  /** Stops the registry, deletes the namespace and the folder. */
  stop(): Promise<void>;
}

/** Fails, saying how to build it, when scripts/build-image.sh's image is not in the project's storage. */
export async function localConfigDigest(version: string): Promise<string> {
  const image = `containers-storage:${localImage}:${version}`;
  const inspected = await runContainersTool("skopeo", ["inspect", "--raw", image]).catch(() => {
    throw new Error(
      `no image ${localImage}:${version} in the project's container storage: run npm run image`,
    );
  });
  return (JSON.parse(inspected.stdout) as { config: { digest: string } }).config.digest;
}

/** A cosign key pair made for the test (generate-key-pair is local: no namespace needed). */
async function generateKeyPair(tools: ReleaseTools, dir: string, env: NodeJS.ProcessEnv): Promise<KeyPair> {
  await mkdir(dir, { recursive: true });
  const prefix = join(dir, "cosign");
  await runCommand(tools.cosign, ["generate-key-pair", "--output-key-prefix", prefix], { env });
  return { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` };
}

/** Starts the registry and makes the keys; on any failure, undoes what it did and rethrows. */
export async function startReleaseFixture(): Promise<ReleaseFixture> {
  const tools = await releaseTools();
  await localConfigDigest(tools.version);
  const dir = await mkdtemp(join(tmpdir(), "wiw-release-"));
  let netns: NetworkNamespace | undefined;
  try {
    const home = join(dir, "home");
    const certDir = join(dir, "certs.d");
    await Promise.all([mkdir(home), mkdir(certDir)]);
    const env = releaseEnv(tools, home, { COSIGN_PASSWORD: keyPassword });
    const key = await generateKeyPair(tools, join(dir, "key"), env);
    const otherKey = await generateKeyPair(tools, join(dir, "other-key"), env);
    netns = await createNetworkNamespace(registryAddress);
    // Alone in its namespace, the registry can have a fixed port.
    const registry = await startRegistry({ dir: join(dir, "registry"), netns, port: 5000 });
    await copyFile(registry.caCertPath, join(certDir, "ca.crt"));
    return fixtureOf({ tools, dir, netns, registry, certDir, env, key, otherKey });
  } catch (error) {
    await netns?.remove();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

type FixtureState = Pick<
  ReleaseFixture,
  "tools" | "dir" | "netns" | "registry" | "certDir" | "env" | "key" | "otherKey"
>;

function fixtureOf(state: FixtureState): ReleaseFixture {
  const { tools, dir, netns, registry, certDir, env } = state;
  const run = (command: string, args: readonly string[]) => runIn(netns, command, args, { env });
  const skopeoInspect = async (args: readonly string[], reference: string) =>
    (await run("skopeo", ["inspect", ...args, "--cert-dir", certDir, `docker://${reference}`])).stdout;
  return {
    ...state,
    publish: (args) =>
      run(publishScript, [...args, "--registry", registry.host, "--ca-file", registry.caCertPath]),
    cosignVerify: (reference, publicKey) =>
      run(tools.cosign, [
        "verify",
        "--key",
        publicKey,
        "--insecure-ignore-tlog",
        "--registry-cacert",
        registry.caCertPath,
        reference,
      ]),
    remoteDigest: async (reference) => (await skopeoInspect(["--format", "{{.Digest}}"], reference)).trim(),
    remoteConfigDigest: async (reference) =>
      (JSON.parse(await skopeoInspect(["--raw"], reference)) as { config: { digest: string } }).config.digest,
    async stop() {
      await registry.stop();
      await netns.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
