// Builds the SDK app image (test/node/fixtures/sdk-app) into the project's container storage, once per content.
//
// As a script, `node --import tsx test/node/support/sdk-image.ts` builds it (when needed) and prints its name:
// the build's npm step needs the registry, so it runs before the node suite enters its network namespace, and
// the tests only look the image up (builtSdkAppImage).
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { repoRoot, runCommand, runContainersTool } from "../../support/command.js";
import { buildImage } from "./images.js";

export const sdkAppDir = join(repoRoot, "test/node/fixtures/sdk-app");
const repositoryName = "localhost/web-identity-webhook-test/sdk-app";

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** A hash of every file of the app folder, name and content: its app, lockfile and Containerfile. */
export async function sdkAppContentHash(): Promise<string> {
  const hash = createHash("sha256");
  for (const file of await filesUnder(sdkAppDir)) {
    hash
      .update(`${file}\0`)
      .update(await readFile(join(sdkAppDir, file)))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** The image's name for the app folder as it is now: localhost/web-identity-webhook-test/sdk-app:<content hash>. */
export async function sdkAppReference(): Promise<string> {
  return `${repositoryName}:${await sdkAppContentHash()}`;
}

/** The two base images (the Dockerfile's NODE_IMAGE and RUNTIME_IMAGE stand-ins), made by scripts/base-images.sh. */
async function baseImages(): Promise<{ node: string; runtime: string }> {
  const { stdout } = await runCommand("bash", [join(repoRoot, "scripts/base-images.sh")], {
    timeoutMs: 900_000,
  });
  const [node, runtime] = stdout.trim().split("\n");
  if (node === undefined || runtime === undefined)
    throw new Error(`scripts/base-images.sh printed "${stdout.trim()}", not the two image names`);
  return { node, runtime };
}

async function imageId(reference: string): Promise<string> {
  return (
    await runContainersTool("podman", ["image", "inspect", "--format", "{{.Id}}", reference])
  ).stdout.trim();
}

/** The label that records which base images an SDK app image was built on. */
const baseImagesLabel = "io.github.web-identity-webhook.sdk-app.base-images";

/** The base image IDs the image was built on, or undefined when there is no such image. */
async function builtOn(reference: string): Promise<string | undefined> {
  return runContainersTool("podman", [
    "image",
    "inspect",
    "--format",
    `{{index .Labels "${baseImagesLabel}"}}`,
    reference,
  ]).then(
    ({ stdout }) => stdout.trim(),
    () => undefined,
  );
}

/** scripts/build-ca-mounts.sh's buildah arguments: the host npm's cafile for the RUN steps, with its npmrc in dir. */
async function caMounts(dir: string): Promise<string[]> {
  const { stdout } = await runCommand("bash", [join(repoRoot, "scripts/build-ca-mounts.sh"), dir]);
  return stdout.split("\n").filter((line) => line !== "");
}

/**
 * Builds the SDK app image with buildah unless the storage has one of the app folder's content on the current
 * base images, and returns its name. It needs the npm registry: run it outside the node suite's namespace.
 */
export async function buildSdkAppImage(log: (line: string) => void = () => undefined): Promise<string> {
  const reference = await sdkAppReference();
  const base = await baseImages();
  const baseIds = `${await imageId(base.node)},${await imageId(base.runtime)}`;
  if ((await builtOn(reference)) === baseIds) return reference;

  const work = await mkdtemp(join(tmpdir(), "sdk-app-build-"));
  try {
    const mounts = await caMounts(work);
    const started = Date.now();
    log(`building ${reference} from ${sdkAppDir}`);
    await buildImage({
      ref: reference,
      contextDir: sdkAppDir,
      extraArgs: [
        // RUN steps use the host's network; buildah's default bridge would leave iptables chains behind.
        "--network=host",
        ...mounts,
        `--build-arg=NODE_IMAGE=${base.node}`,
        `--build-arg=RUNTIME_IMAGE=${base.runtime}`,
        `--label=${baseImagesLabel}=${baseIds}`,
      ],
    });
    log(`built ${reference} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return reference;
}

/**
 * The SDK app image of the app folder as it is now, which the node suite's tests run. It is built beforehand
 * (the build needs the npm registry, which nothing inside the suite's network namespace reaches).
 */
export async function builtSdkAppImage(): Promise<string> {
  const reference = await sdkAppReference();
  if ((await builtOn(reference)) === undefined)
    throw new Error(
      `${reference} is not in the project's container storage: build it with ` +
        "`node --import tsx test/node/support/sdk-image.ts` outside the node suite's network namespace " +
        "(scripts/node-suite.sh does, before it enters it)",
    );
  return reference;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${await buildSdkAppImage((line) => process.stderr.write(`sdk-image: ${line}\n`))}\n`);
}
