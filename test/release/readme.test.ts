// The README's release commands, run as written against the test registry: its host in place of the public one,
// `helm template` in place of `helm install` (no cluster here; the node suite installs for real), the registry's
// CA trusted through SSL_CERT_FILE as a system CA would be, so not one flag is added.
import assert from "node:assert/strict";
import { access, mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseManifests } from "../chart/render.js";
import { type CommandResult, repoRoot } from "../support/command.js";
import { localImage, type ReleaseFixture, startReleaseFixture } from "./support/fixture.js";
import { readmeCommands, words } from "./support/readme.js";
import { runIn } from "./support/tools.js";

let fixture: ReleaseFixture | undefined;

function ready(): ReleaseFixture {
  assert.ok(fixture, "the registry fixture did not start (see the before hook's error)");
  return fixture;
}

/** The README command as it runs here: `publicHost` replaced by the test registry, helm install by helm template. */
function runHere(command: string, publicHost: string): string {
  return command.replaceAll(publicHost, ready().registry.host).replace(/^helm install /, "helm template ");
}

/** Runs README commands one by one from the clone, in a fresh HOME shared by them; resolves with each result. */
async function runReadme(commands: readonly string[], publicHost: string): Promise<CommandResult[]> {
  const { netns, env, registry, dir } = ready();
  const home = await mkdtemp(join(dir, "readme-home-"));
  const results: CommandResult[] = [];
  for (const command of commands) {
    const script = `cd "${repoRoot}" && ${runHere(command, publicHost)}`;
    results.push(
      await runIn(netns, "bash", ["-euo", "pipefail", "-c", script], {
        env: { ...env, HOME: home, SSL_CERT_FILE: registry.caCertPath },
      }),
    );
  }
  return results;
}

/** The image of the Deployment's first container in helm template's output. */
function deploymentImage(rendered: string): string | undefined {
  const deployment = parseManifests(rendered).find((object) => object.kind === "Deployment") as
    | { spec: { template: { spec: { containers: { image: string }[] } } } }
    | undefined;
  return deployment?.spec.template.spec.containers[0]?.image;
}

function flag(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

describe("the README's release commands, against a real registry", { timeout: 600_000 }, () => {
  before(async () => {
    fixture = await startReleaseFixture();
    // What a release leaves on ghcr.io, as far as installing goes: the chart under the default repository.
    await fixture.publish(["chart"]);
  });
  after(async () => {
    await fixture?.stop();
    fixture = undefined;
  });

  it("From the published chart: installs this version, whose image is the one the release pushes", async () => {
    const { tools } = ready();
    const blocks = await readmeCommands("From the published chart");
    assert.equal(blocks.length, 1);
    const [commands = []] = blocks;
    assert.equal(commands.length, 1);
    assert.match(commands[0] ?? "", /^helm install /);
    assert.equal(
      flag(words(commands[0] ?? ""), "--version"),
      tools.version,
      "the README installs package.json's version",
    );
    const [rendered] = await runReadme(commands, "ghcr.io");
    assert.equal(deploymentImage(rendered?.stdout ?? ""), `${localImage}:${tools.version}`);
  });

  it("Verify the image signature: names the identity the release workflow signs with", async () => {
    const { tools } = ready();
    const blocks = await readmeCommands("Verify the image signature");
    assert.equal(blocks.length, 1);
    const [[verify = ""] = []] = blocks;
    const args = words(verify);
    assert.deepEqual(args.slice(0, 3), ["cosign", "verify", `${localImage}:${tools.version}`]);
    // Keyless verification needs Sigstore's Fulcio and Rekor, which no test here reaches: what it is checked
    // against is checked instead. Fulcio names a GitHub Actions run <source>/<workflow path>@<ref>.
    const dockerfile = await readFile(join(repoRoot, "Dockerfile"), "utf8");
    const source = /org\.opencontainers\.image\.source="([^"]+)"/.exec(dockerfile)?.[1];
    assert.ok(source, "the Dockerfile labels no org.opencontainers.image.source");
    const workflow = ".github/workflows/release.yml";
    await access(join(repoRoot, workflow));
    assert.equal(flag(args, "--certificate-identity"), `${source}/${workflow}@refs/tags/v${tools.version}`);
    assert.equal(flag(args, "--certificate-oidc-issuer"), "https://token.actions.githubusercontent.com");
  });

  it("Build and push your own image: publishes, verifies and installs from your registry", async () => {
    const { tools, registry, remoteDigest } = ready();
    const blocks = await readmeCommands("Build and push your own image");
    assert.equal(blocks.length, 2);
    const [build = [], publish = []] = blocks;
    // npm run test:image built the image before any test ran; building it again would prove nothing new.
    assert.deepEqual(build, ["bash scripts/build-image.sh"]);
    const results = await runReadme(publish, "registry.example.com");
    const install = publish.findIndex((command) => command.startsWith("helm install "));
    assert.ok(install >= 0, "the section installs the chart it pushed");
    const image = deploymentImage(results[install]?.stdout ?? "");
    assert.equal(image, `${registry.host}/my-org/web-identity-webhook:${tools.version}`);
    // The chart points at the image publish.sh pushed, and the section verified that image's signature.
    assert.match(await remoteDigest(image ?? ""), /^sha256:[0-9a-f]{64}$/);
    assert.ok(
      publish.some((command) => /^cosign verify --key /.test(command)),
      "the section verifies the signature",
    );
  });
});
