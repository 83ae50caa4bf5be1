// The GitHub Actions workflows cannot run here: actionlint (with shellcheck on run: steps) lints them, and the
// release workflow is held to what CI proves: the same scripts/publish.sh phases, the same cosign release.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { packageVersion } from "../chart/package-version.js";
import { CommandError, repoRoot, runCommand } from "../support/command.js";
import { lastLine } from "./support/tools.js";

const workflowsDir = join(repoRoot, ".github/workflows");

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Readonly<Record<string, string | boolean>>;
  readonly env?: Readonly<Record<string, string>>;
}

interface Workflow {
  readonly on: { readonly push?: { readonly tags?: readonly string[] } };
  readonly jobs: Readonly<
    Record<
      string,
      { readonly permissions?: Readonly<Record<string, string>>; readonly steps: readonly Step[] }
    >
  >;
}

async function releaseSteps(): Promise<{ workflow: Workflow; steps: readonly Step[] }> {
  const workflow = parse(await readFile(join(workflowsDir, "release.yml"), "utf8")) as Workflow;
  const jobs = Object.values(workflow.jobs);
  assert.equal(jobs.length, 1, "release.yml has one job");
  const [job] = jobs;
  assert.ok(job);
  return { workflow, steps: job.steps };
}

/** The text of a GitHub Actions expression, `${{ path }}`. */
function expression(path: string): string {
  return `\${{ ${path} }}`;
}

function stepUsing(steps: readonly Step[], action: string): Step {
  const step = steps.find((candidate) => candidate.uses?.split("@")[0] === action);
  assert.ok(step, `release.yml has no step using ${action}`);
  return step;
}

async function devDependencies(): Promise<Record<string, string>> {
  const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  return manifest.devDependencies;
}

/**
 * Runs the release's "Read versions" step as Actions would (bash -e, GITHUB_OUTPUT, GITHUB_REF_NAME for the
 * tag, in the checkout) and returns its exit status, stdout and the outputs it wrote.
 */
async function runVersionsStep(
  steps: readonly Step[],
  tag: string,
): Promise<{ exit: number | string; stdout: string; outputs: Record<string, string> }> {
  const step = steps.find((candidate) => candidate.name === "Read versions");
  assert.ok(step?.run, 'release.yml has no "Read versions" step');
  const dir = await mkdtemp(join(tmpdir(), "wiw-workflow-"));
  try {
    const outputFile = join(dir, "output");
    await writeFile(outputFile, "");
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GITHUB_OUTPUT: outputFile,
      GITHUB_REF_NAME: tag,
      GITHUB_REPOSITORY_OWNER: "Web-Identity-Webhook",
    };
    const script = `cd "${repoRoot}"\n${step.run}`;
    let exit: number | string = 0;
    let stdout = "";
    try {
      stdout = (await runCommand("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { env }))
        .stdout;
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      exit = error.exit;
      stdout = error.stdout;
    }
    const outputs = Object.fromEntries(
      (await readFile(outputFile, "utf8"))
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    return { exit, stdout, outputs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("the GitHub Actions workflows", () => {
  let actionlint = "";
  before(async () => {
    const built = await runCommand("bash", [join(repoRoot, "scripts/build-tools.sh"), "actionlint"], {
      timeoutMs: 600_000,
    });
    actionlint = lastLine(built);
  });

  it("pass actionlint, shellcheck of their run: steps included", async () => {
    const files = (await readdir(workflowsDir)).filter((file) => /\.ya?ml$/.test(file)).sort();
    assert.ok(files.includes("release.yml"), `no release.yml in ${workflowsDir} (found ${files.join(", ")})`);
    // Without shellcheck on PATH actionlint skips the run: scripts silently.
    await runCommand("shellcheck", ["--version"]).catch(() => {
      assert.fail(
        "shellcheck is not installed (scripts/install-system-packages.sh): actionlint would skip run: steps",
      );
    });
    try {
      await runCommand(actionlint, ["-no-color", ...files.map((file) => join(workflowsDir, file))]);
    } catch (error) {
      if (error instanceof CommandError)
        assert.fail(`actionlint found problems:\n${error.stdout}${error.stderr}`);
      throw error;
    }
  });

  it("releases on a v* tag, and only when the tag is package.json's version", async () => {
    const { workflow, steps } = await releaseSteps();
    assert.deepEqual(workflow.on.push?.tags, ["v*"]);
    const version = packageVersion;
    const released = await runVersionsStep(steps, `v${version}`);
    assert.equal(released.outputs.version, version);
    // GHCR names are lower-case whatever the owner's spelling; this is the image the chart's defaults name.
    assert.equal(released.outputs.image, "ghcr.io/web-identity-webhook/web-identity-webhook");
    const refused = await runVersionsStep(steps, "v999.0.0");
    assert.notEqual(refused.exit, 0, "a tag other than v<package.json version> must stop the release");
    assert.match(
      refused.stdout,
      new RegExp(`::error::tag v999\\.0\\.0 does not match package\\.json version ${version}`),
    );
  });

  it("tests before it publishes, on the Node.js release npm scripts run on", async () => {
    const { steps } = await releaseSteps();
    assert.equal(
      (await runVersionsStep(steps, `v${packageVersion}`)).outputs.node,
      (await devDependencies()).node,
    );
    const setupNode = stepUsing(steps, "actions/setup-node");
    assert.equal(setupNode.with?.["node-version"], expression("steps.versions.outputs.node"));
    const test = steps.findIndex((step) => step.run === "npm ci && npm test");
    const build = steps.indexOf(stepUsing(steps, "docker/build-push-action"));
    assert.ok(test >= 0 && test < build, "npm ci && npm test runs before the image is pushed");
  });

  it("builds linux/amd64 and linux/arm64 with an SBOM and full provenance", async () => {
    const { steps } = await releaseSteps();
    const build = stepUsing(steps, "docker/build-push-action");
    assert.equal(build.with?.platforms, "linux/amd64,linux/arm64");
    assert.equal(build.with?.sbom, true);
    assert.equal(build.with?.provenance, "mode=max");
    assert.equal(build.with?.push, true);
  });

  it("builds linux/arm64 without emulation: every stage that runs something runs on the builder's platform", async () => {
    const { steps } = await releaseSteps();
    const dockerfile = await readFile(join(repoRoot, "Dockerfile"), "utf8");
    const stages = dockerfile
      .split(/^(?=FROM )/m)
      .slice(1)
      .map((stage) => ({ from: stage.split("\n")[0] ?? "", runs: /^RUN /m.test(stage) }));
    assert.ok(stages.length >= 2, `the Dockerfile has ${stages.length} stage(s)`);
    for (const stage of stages.filter(({ runs }) => runs))
      assert.match(
        stage.from,
        /^FROM --platform=\$\{?BUILDPLATFORM\}? /,
        `${stage.from}: a stage with RUN steps`,
      );
    assert.equal(
      stages.at(-1)?.runs,
      false,
      "the runtime stage runs nothing, so it needs no arm64 emulation",
    );
    // A production dependency installed on the builder's platform must be the same on every platform.
    const lock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; os?: unknown; cpu?: unknown; hasInstallScript?: boolean }>;
    };
    const platformBound = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && entry.dev !== true)
      .filter(
        ([, entry]) => entry.os !== undefined || entry.cpu !== undefined || entry.hasInstallScript === true,
      )
      .map(([path]) => path);
    assert.deepEqual(
      platformBound,
      [],
      "production dependencies bound to a platform or with install scripts",
    );
    assert.equal(
      steps.find((step) => step.uses?.startsWith("docker/setup-qemu-action")),
      undefined,
      "QEMU is not needed",
    );
  });

  it("signs and pushes the chart with scripts/publish.sh, the phases CI runs", async () => {
    const { workflow, steps } = await releaseSteps();
    const runs = steps.map((step) => step.run ?? "");
    const sign = runs.find((run) => /^scripts\/publish\.sh sign "\$\{DIGEST\}"/.test(run));
    assert.ok(sign, "no step runs scripts/publish.sh sign with the pushed digest");
    assert.ok(!sign.includes("--cosign-key"), "the release signs keyless");
    const signStep = steps[runs.indexOf(sign)];
    assert.equal(signStep?.env?.DIGEST, expression("steps.build.outputs.digest"));
    assert.ok(
      runs.some((run) => run.startsWith("scripts/publish.sh chart --registry ghcr.io")),
      "no step runs scripts/publish.sh chart to ghcr.io",
    );
    const [job] = Object.values(workflow.jobs);
    assert.equal(job?.permissions?.["id-token"], "write", "keyless signing needs the OIDC token");
    assert.equal(job?.permissions?.packages, "write");
  });

  it("installs the cosign release scripts/build-tools.sh builds for CI", async () => {
    const { steps } = await releaseSteps();
    const installer = stepUsing(steps, "sigstore/cosign-installer");
    assert.equal(installer.with?.["cosign-release"], expression("steps.versions.outputs.cosign"));
    const buildTools = await readFile(join(repoRoot, "scripts/build-tools.sh"), "utf8");
    const pinned = /^COSIGN_VERSION="(v[0-9.]+)"$/m.exec(buildTools)?.[1];
    assert.ok(pinned, "scripts/build-tools.sh pins no COSIGN_VERSION");
    const version = packageVersion;
    assert.equal((await runVersionsStep(steps, `v${version}`)).outputs.cosign, pinned);
  });

  it("pins every action to a major version at least", async () => {
    const { steps } = await releaseSteps();
    for (const step of steps.filter((candidate) => candidate.uses !== undefined)) {
      assert.match(
        step.uses ?? "",
        /^[\w.-]+\/[\w.-]+@v\d+(\.\d+){0,2}$|@[0-9a-f]{40}$/,
        `${step.uses} is not pinned`,
      );
    }
  });
});
