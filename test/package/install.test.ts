// What the container image runs: the packed package, installed with production dependencies only, serving reviews.
import assert from "node:assert/strict";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertExampleReviewAnswer } from "../support/example-review.js";
import { type InstalledPackage, packAndInstall, projectDir } from "./installed-package.js";
import { httpsRequest, runInstalled, startServe, waitUntilReady } from "./serve-process.js";

interface PackageJson {
  version: string;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

interface Lockfile {
  packages: Record<string, { version?: string }>;
}

const projectPackage = JSON.parse(await readFile(join(projectDir, "package.json"), "utf8")) as PackageJson;
const lockfile = JSON.parse(await readFile(join(projectDir, "package-lock.json"), "utf8")) as Lockfile;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

let dir: string;
let installed: InstalledPackage;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "web-identity-webhook-package-"));
  installed = await packAndInstall(dir);
});
after(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

test("the tarball holds dist/, examples, README, LICENSE and package.json, and no src/ or test/", () => {
  const topLevel = [...new Set(installed.packedFiles.map((path) => path.split("/")[0]))].sort();
  assert.deepEqual(topLevel, ["LICENSE", "README.md", "dist", "examples", "package.json"]);
  assert.ok(installed.packedFiles.includes("dist/cli/main.js"));
  assert.ok(installed.packedFiles.includes("examples/serviceaccounts.yaml"));
  assert.ok(installed.packedFiles.includes("examples/review.json"));
  assert.deepEqual(
    installed.packedFiles.filter((path) => /^(src|test)\//.test(path) || path.endsWith(".ts")),
    [],
  );
  assert.deepEqual([...installed.writtenFiles].sort(), [...installed.packedFiles].sort());
});

test("installs no devDependency, and every dependency at the version of package-lock.json", async () => {
  const modules = join(installed.packageDir, "node_modules");
  const present: string[] = [];
  for (const name of Object.keys(projectPackage.devDependencies)) {
    // @types/node also comes in through @kubernetes/client-node's own dependencies: only tools must be absent.
    if (name.startsWith("@types/")) continue;
    if (await exists(join(modules, name))) present.push(name);
  }
  assert.deepEqual(present, []);
  for (const tool of ["typescript", "tsx", "@biomejs/biome", "fast-check"]) {
    assert.equal(await exists(join(modules, tool)), false, `${tool} is installed`);
  }
  for (const name of Object.keys(projectPackage.dependencies)) {
    const installedPackage = JSON.parse(
      await readFile(join(modules, name, "package.json"), "utf8"),
    ) as PackageJson;
    assert.equal(installedPackage.version, lockfile.packages[`node_modules/${name}`]?.version, name);
  }
});

test("--version of the installed package prints the project's version", async () => {
  const stdout = await runInstalled(installed.packageDir, installed.appDir, ["--version"]);
  assert.equal(stdout, `web-identity-webhook ${projectPackage.version}\n`);
});

test("serves the example review with a patch over HTTPS, then exits 0 on SIGTERM", async () => {
  const certPath = join(dir, "certs", "tls.crt");
  const serve = await startServe(installed.packageDir, installed.appDir, [
    "serve",
    "--service-accounts-file",
    join(installed.packageDir, "examples", "serviceaccounts.yaml"),
    "--generate-self-signed",
    "--tls-cert",
    certPath,
    "--tls-key",
    join(dir, "certs", "tls.key"),
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--listen-address",
    "127.0.0.1",
  ]);
  try {
    const ca = await readFile(certPath, "utf8");
    await waitUntilReady(serve.port, ca);
    const review = await readFile(join(installed.packageDir, "examples", "review.json"), "utf8");
    const answer = await httpsRequest(serve.port, ca, "POST", "/mutate", review);
    assert.equal(answer.status, 200, answer.body);
    assertExampleReviewAnswer(answer.body);

    serve.signal("SIGTERM");
    const exitCode = await Promise.race([
      serve.exited,
      new Promise((resolve) => setTimeout(resolve, 10_000, "still running 10 s after SIGTERM").unref()),
    ]);
    assert.equal(exitCode, 0, serve.stderr());
    assert.equal(serve.stderr(), "");
  } finally {
    serve.signal("SIGKILL");
  }
});
