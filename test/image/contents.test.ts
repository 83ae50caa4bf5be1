// The built image as it ships: its user, its labels, its size, no shell, a read-only /app, and its CLI.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { before, test } from "node:test";
import { promisify } from "node:util";
import { containerName, createPodman, type Podman, projectDir, projectImage } from "./podman.js";

const execFileAsync = promisify(execFile);

/**
 * The budget for the image's size (uncompressed, as `podman image inspect` counts it): measured 259 MB on Node
 * 26.10.0 (168 MB of it the distroless base, 150 MB of that the node binary; 87 MB of node_modules, 67 MB of
 * them @kubernetes/client-node and what only it pulls in), plus a margin of about 8 %.
 */
const sizeBudgetBytes = 280_000_000;

/** Run by the image's own node: every file named like a shell, and how many files it looked at. */
const findShells = `
const { readdirSync } = require("node:fs");
const { join } = require("node:path");
const shells = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"]);
const found = [];
let files = 0;
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (["/proc", "/sys", "/dev"].includes(path)) continue;
    if (entry.isDirectory()) walk(path);
    else { files++; if (shells.has(entry.name)) found.push(path); }
  }
};
walk("/");
console.log(JSON.stringify({ files, found }));`;

/** Run by the image's node as its user: every entry under argv[1] not root's, or writable by that user. */
const findWritable = `
const { accessSync, constants, lstatSync, readdirSync } = require("node:fs");
const { join } = require("node:path");
const problems = [];
let entries = 0;
const check = (path) => {
  entries++;
  const stat = lstatSync(path);
  if (stat.uid !== 0 || stat.gid !== 0) problems.push(path + " is owned by " + stat.uid + ":" + stat.gid);
  if (!stat.isSymbolicLink()) {
    try { accessSync(path, constants.W_OK); problems.push(path + " is writable"); } catch {}
  }
  if (stat.isDirectory()) for (const name of readdirSync(path)) check(join(path, name));
};
check(process.argv[1]);
console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), entries, problems: problems.slice(0, 10) }));`;

interface ImageConfig {
  readonly Size: number;
  readonly Labels: Record<string, string> | null;
  readonly Config: { readonly User?: string; readonly WorkingDir?: string; readonly Entrypoint?: string[] };
}

let podman: Podman;
let image: Awaited<ReturnType<typeof projectImage>>;
let config: ImageConfig;

before(async () => {
  podman = await createPodman();
  image = await projectImage();
  const inspected = await podman.run(["image", "inspect", image.name]);
  assert.equal(
    inspected.code,
    0,
    `${image.name} is not built: run "npm run image" (${inspected.stderr.trim()})`,
  );
  [config] = JSON.parse(inspected.stdout) as [ImageConfig];
});

/** `podman run --rm` of the image with `args`, network off, a name of this run's own. */
function runImage(args: readonly string[], options: readonly string[] = []) {
  return podman.run([
    "run",
    "--rm",
    "--name",
    containerName("run"),
    "--network",
    "none",
    ...options,
    image.name,
    ...args,
  ]);
}

/** The image's node running `script` with `args` (the entrypoint replaced, everything else as shipped). */
async function nodeInImage(imageName: string, node: string, script: string, ...args: string[]) {
  const result = await podman.ok([
    "run",
    "--rm",
    "--name",
    containerName("node"),
    "--network",
    "none",
    "--user",
    "0",
    "--entrypoint",
    node,
    imageName,
    "-e",
    script,
    ...args,
  ]);
  return JSON.parse(result) as unknown;
}

test("its size is within the budget", (t) => {
  t.diagnostic(`${image.name}: ${(config.Size / 1e6).toFixed(1)} MB (budget ${sizeBudgetBytes / 1e6} MB)`);
  process.stdout.write(`# image size: ${config.Size} bytes (${(config.Size / 1e6).toFixed(1)} MB)\n`);
  assert.ok(config.Size > 50_000_000, `${config.Size} bytes is too small to hold node and the webhook`);
  assert.ok(
    config.Size <= sizeBudgetBytes,
    `${image.name} is ${config.Size} bytes, over the budget of ${sizeBudgetBytes}: find what grew (podman history)`,
  );
});

test("runs as 65532 in /app, with the package version as its version label", () => {
  assert.equal(config.Config.User, "65532:65532");
  assert.equal(config.Config.WorkingDir, "/app");
  assert.equal(config.Labels?.["org.opencontainers.image.version"], image.version);
  assert.equal(config.Labels?.["org.opencontainers.image.title"], "web-identity-webhook");
  assert.match(config.Labels?.["org.opencontainers.image.revision"] ?? "", /^[0-9a-f]{40}(-dirty)?$/);
});

test("the container's user is 65532 when nothing overrides it", async () => {
  const result = await podman.ok([
    "run",
    "--rm",
    "--name",
    containerName("user"),
    "--network",
    "none",
    "--entrypoint",
    "/nodejs/bin/node",
    image.name,
    "-p",
    'process.getuid() + ":" + process.getgid()',
  ]);
  assert.equal(result, "65532:65532\n");
});

test("holds no shell: none of sh, bash, dash, busybox, ... anywhere, and /bin/sh cannot be run", async () => {
  const shipped = (await nodeInImage(image.name, "/nodejs/bin/node", findShells)) as {
    files: number;
    found: string[];
  };
  assert.deepEqual(shipped.found, []);
  assert.ok(shipped.files > 1000, `looked at only ${shipped.files} files`);
  for (const shell of ["/bin/sh", "sh", "bash", "dash", "busybox"]) {
    const result = await runImage(["-c", "true"], ["--entrypoint", shell]);
    assert.notEqual(result.code, 0, `${shell} ran in the image`);
    assert.match(result.stderr, /no such file or directory|not found in \$PATH/i, shell);
  }
});

test("the shell search finds the shells of the build stage's image (it can fail)", async () => {
  const { stdout } = await execFileAsync("bash", [join(projectDir, "scripts/base-images.sh"), "--names"]);
  const [nodeImage = ""] = stdout.split("\n");
  const buildBase = (await nodeInImage(nodeImage, "node", findShells)) as {
    found: string[];
  };
  assert.ok(
    buildBase.found.includes("/bin/sh") || buildBase.found.includes("/usr/bin/sh"),
    buildBase.found.join(),
  );
  assert.ok(
    buildBase.found.some((path) => path.endsWith("/bash")),
    buildBase.found.join(),
  );
});

test("/app and everything under it is root's and not writable by 65532", async () => {
  const result = await runImage(["-e", findWritable, "/app"], ["--entrypoint", "/nodejs/bin/node"]);
  assert.equal(result.code, 0, result.stderr);
  const app = JSON.parse(result.stdout) as { uid: number; entries: number; problems: string[] };
  assert.equal(app.uid, 65532);
  assert.deepEqual(app.problems, []);
  assert.ok(app.entries > 1000, `found only ${app.entries} entries under /app`);
});

test("the /app check reports 65532's own home (it can fail)", async () => {
  const result = await runImage(["-e", findWritable, "/home/nonroot"], ["--entrypoint", "/nodejs/bin/node"]);
  assert.equal(result.code, 0, result.stderr);
  const home = JSON.parse(result.stdout) as { problems: string[] };
  assert.deepEqual(home.problems, ["/home/nonroot is owned by 65532:65532", "/home/nonroot is writable"]);
});

test("--help prints the commands and exits 0", async () => {
  const result = await runImage(["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^web-identity-webhook: gives Kubernetes pods AWS IAM roles/);
  for (const command of ["serve", "mutate", "oidc", "trust-policy", "doctor"]) {
    assert.match(result.stdout, new RegExp(`^ {2}${command} `, "m"), command);
  }
});

test("--version prints the package version", async () => {
  const result = await runImage(["--version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `web-identity-webhook ${image.version}\n`);
});

test("doctor and oidc export load @kubernetes/client-node in the image", async () => {
  for (const command of [
    ["doctor"],
    ["oidc", "export", "--issuer", "https://oidc.example.com", "--out", "/tmp/x"],
  ]) {
    const result = await runImage([...command, "--kubeconfig", "/nonexistent/kubeconfig"]);
    // Reached only once client-node's KubeConfig is loaded and tries the file.
    assert.match(
      result.stderr,
      /--kubeconfig: cannot load \/nonexistent\/kubeconfig \(ENOENT/,
      result.stderr,
    );
    assert.notEqual(result.code, 0);
  }
});
