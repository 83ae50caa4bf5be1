// The node's local images (the pod sandbox's pause and a busybox for test pods), built without any registry
// and cached as docker archives, and the import of any image of the project's container storage into containerd.
import { createHash } from "node:crypto";
import { access, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot, runCommand, runContainersTool } from "../../support/command.js";

/** The names the node's pods use for the two local images. */
export const localImages = {
  /** containerd's sandbox_image: gcc -static of kubernetes' build/pause/linux/pause.c. */
  pause: (kubernetesVersion: string) => `localhost/web-identity-webhook-node/pause:${kubernetesVersion}`,
  /** Debian's busybox-static with a link per applet, as user-less as the image can be. */
  busybox: "localhost/web-identity-webhook-node/busybox:1",
} as const;

const busyboxBinary = "/bin/busybox";

/** $cache_root of scripts/cache-dir.sh, where built things outlive a clone. */
export async function cacheRoot(): Promise<string> {
  const { stdout } = await runCommand("bash", [
    "-c",
    `source "${repoRoot}scripts/cache-dir.sh" && printf %s "$cache_root"`,
  ]);
  return stdout;
}

/** The Kubernetes version scripts/build-cluster.sh pins (the one place it is written). */
export async function kubernetesVersion(): Promise<string> {
  const script = await readFile(`${repoRoot}scripts/build-cluster.sh`, "utf8");
  const version = /^KUBERNETES_VERSION="(v[0-9.]+)"$/m.exec(script)?.[1];
  if (version === undefined)
    throw new Error('scripts/build-cluster.sh has no KUBERNETES_VERSION="v..." line');
  return version;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const digest = (data: Buffer | string): string =>
  createHash("sha256").update(data).digest("hex").slice(0, 16);

/**
 * Builds `ref` from a Containerfile and a context prepared by `prepare` (FROM scratch: nothing is pulled), and
 * saves it as a docker archive at `archive`, unless an archive built from the same inputs is there already.
 */
async function cachedScratchImage(
  ref: string,
  archive: string,
  prepare: (context: string) => Promise<void>,
): Promise<string> {
  if (await exists(archive)) return archive;
  const context = await mkdtemp(`${archive}.context-`);
  try {
    await prepare(context);
    await buildImage({ ref, contextDir: context });
    await runContainersTool("buildah", ["push", ref, `docker-archive:${archive}.partial:${ref}`]);
    await rename(`${archive}.partial`, archive);
    return archive;
  } finally {
    await rm(context, { recursive: true, force: true });
    await rm(`${archive}.partial`, { force: true });
  }
}

/**
 * The pause image as a docker archive, compiled from pause.c in the bin dir of scripts/build-cluster.sh (which
 * copies it there from the k8s.io/kubernetes module of that version).
 */
export async function pauseImageArchive(
  version: string,
  binDir: string,
): Promise<{ ref: string; archive: string }> {
  const source = join(binDir, "pause.c");
  let code: Buffer;
  try {
    code = await readFile(source);
  } catch {
    throw new Error(
      `${source} is missing: run scripts/build-cluster.sh, which copies it from k8s.io/kubernetes@${version}`,
    );
  }
  const ref = localImages.pause(version);
  const dir = join(await cacheRoot(), "node-images");
  await mkdir(dir, { recursive: true });
  const archive = join(dir, `pause-${version}-${digest(code)}.tar`);
  return {
    ref,
    archive: await cachedScratchImage(ref, archive, async (context) => {
      await runCommand("gcc", [
        "-Os",
        "-static",
        "-DVERSION=web-identity-webhook-node",
        "-o",
        join(context, "pause"),
        source,
      ]);
      await writeFile(
        join(context, "Containerfile"),
        'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n',
      );
    }),
  };
}

/** The busybox image as a docker archive: Debian's static busybox and a symlink per applet in /bin. */
export async function busyboxImageArchive(): Promise<{ ref: string; archive: string }> {
  let binary: Buffer;
  try {
    binary = await readFile(busyboxBinary);
  } catch {
    throw new Error(`${busyboxBinary} is missing: run scripts/install-system-packages.sh (busybox-static)`);
  }
  const ref = localImages.busybox;
  const dir = join(await cacheRoot(), "node-images");
  await mkdir(dir, { recursive: true });
  const archive = join(dir, `busybox-${digest(binary)}.tar`);
  return {
    ref,
    archive: await cachedScratchImage(ref, archive, async (context) => {
      const bin = join(context, "rootfs", "bin");
      await mkdir(bin, { recursive: true });
      await mkdir(join(context, "rootfs", "tmp"), { recursive: true });
      await copyFile(busyboxBinary, join(bin, "busybox"));
      const { stdout } = await runCommand(busyboxBinary, ["--list"]);
      for (const applet of stdout.split("\n").filter((name) => name !== "" && name !== "busybox"))
        await symlink("busybox", join(bin, applet));
      await writeFile(
        join(context, "Containerfile"),
        'FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/bin/sh"]\n',
      );
    }),
  };
}

export interface ImageBuild {
  /** The name to tag it with, e.g. localhost/sts-client:1. */
  ref: string;
  /** The build context; its Containerfile (or `containerfile`) says what to build. */
  contextDir: string;
  containerfile?: string;
  /** More `buildah bud` arguments, e.g. ["--build-arg", "X=1"] or ["-v", "/etc/ssl/certs:/etc/ssl/certs:ro"]. */
  extraArgs?: readonly string[];
}

/** Builds an image into the project's container storage with buildah (never pulling: base images are local). */
export async function buildImage(build: ImageBuild): Promise<void> {
  await runContainersTool("buildah", [
    "bud",
    "--pull=never",
    "--layers=false",
    "-t",
    build.ref,
    "-f",
    build.containerfile ?? join(build.contextDir, "Containerfile"),
    ...(build.extraArgs ?? []),
    build.contextDir,
  ]);
}

/** Saves `ref` from the project's container storage as a docker archive in dir, for `ctr images import`. */
export async function saveImage(ref: string, dir: string): Promise<string> {
  const archive = join(dir, `image-${digest(ref)}.tar`);
  await rm(archive, { force: true });
  await runContainersTool("buildah", ["push", ref, `docker-archive:${archive}:${ref}`]);
  return archive;
}
