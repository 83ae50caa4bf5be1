// scripts/publish.sh run as CI runs it, against a real registry over TLS: the image pullable, the chart
// installable from OCI, and the cosign signature accepted for what was pushed and refused for anything else.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { repoRoot, runContainersTool } from "../support/command.js";
import {
  chartRepository,
  imageRepository,
  localConfigDigest,
  localImage,
  type ReleaseFixture,
  startReleaseFixture,
} from "./support/fixture.js";
import { lastLine, runIn } from "./support/tools.js";

let fixture: ReleaseFixture | undefined;
let published: { chart: string; image: string; digest: string; ms: number } | undefined;

function ready(): ReleaseFixture {
  assert.ok(fixture, "the registry fixture did not start (see the before hook's error)");
  return fixture;
}

function digestOf(reference: string): string {
  return reference.slice(reference.indexOf("@") + 1);
}

/** Pushes the published image with one label added over `tag`, as an attacker would; resolves with its digest. */
async function pushTamperedImage(tag: string): Promise<string> {
  const { netns, certDir, env, tools, dir } = ready();
  const tampered = `localhost/wiw-release-tampered:${process.pid}`;
  const from = await runContainersTool("buildah", [
    "from",
    "--pull=never",
    `containers-storage:${localImage}:${tools.version}`,
  ]);
  const container = lastLine(from);
  try {
    await runContainersTool("buildah", ["config", "--label", "tampered=true", container]);
    await runContainersTool("buildah", ["commit", "--quiet", container, tampered]);
    const digestFile = join(dir, "tampered.digest");
    const envScript = join(repoRoot, "scripts/containers-env.sh");
    const copy = ["copy", "--quiet", "--dest-cert-dir", certDir, "--digestfile", digestFile];
    await runIn(
      netns,
      "bash",
      [
        "-c",
        `source "${envScript}" && exec skopeo "$@"`,
        "skopeo",
        ...copy,
        `containers-storage:${tampered}`,
        `docker://${tag}`,
      ],
      { env },
    );
    return (await readFile(digestFile, "utf8")).trim();
  } finally {
    await runContainersTool("buildah", ["rm", container]);
    await runContainersTool("buildah", ["rmi", tampered]).catch(() => undefined);
  }
}

/** Copies image `from`'s signatures to image `to` (cosign's sha256-<digest> tag) through the registry API. */
async function copySignatures(repository: string, from: string, to: string): Promise<void> {
  const { netns, registry, env } = ready();
  const manifests = `https://${registry.host}/v2/${repository}/manifests`;
  const index = "application/vnd.oci.image.index.v1+json";
  const tagOf = (digest: string) => digest.replace(":", "-");
  const curl = ["--silent", "--show-error", "--fail", "--cacert", registry.caCertPath];
  const { stdout } = await runIn(
    netns,
    "curl",
    [...curl, "--header", `Accept: ${index}`, `${manifests}/${tagOf(from)}`],
    { env },
  );
  const put = ["--request", "PUT", "--header", `Content-Type: ${index}`, "--data-binary", "@-"];
  await runIn(netns, "curl", [...curl, ...put, `${manifests}/${tagOf(to)}`], { env, input: stdout });
}

describe("scripts/publish.sh, as CI runs it, against a real registry over TLS", { timeout: 600_000 }, () => {
  before(async () => {
    fixture = await startReleaseFixture();
    const started = Date.now();
    const result = await fixture.publish(["--cosign-key", fixture.key.privateKey]);
    const lines = result.stdout.trimEnd().split("\n");
    const image = lines.at(-1) ?? "";
    published = { chart: lines.at(-2) ?? "", image, digest: digestOf(image), ms: Date.now() - started };
  });
  after(async () => {
    await fixture?.stop();
    fixture = undefined;
  });

  it("prints the chart reference and the pushed image by digest", (t) => {
    const { registry, tools } = ready();
    assert.ok(published);
    t.diagnostic(`publish.sh (image, chart, sign) took ${published.ms} ms`);
    assert.equal(
      published.chart,
      `oci://${registry.host}/${chartRepository}/web-identity-webhook:${tools.version}`,
    );
    assert.match(published.image, new RegExp(`^${registry.host}/${imageRepository}@sha256:[0-9a-f]{64}$`));
  });

  it("pushes the image built into the project's storage, pullable by its tag and by the printed digest", async () => {
    const { registry, tools, remoteDigest, remoteConfigDigest } = ready();
    assert.ok(published);
    assert.equal(
      await remoteDigest(`${registry.host}/${imageRepository}:${tools.version}`),
      published.digest,
    );
    assert.equal(await remoteConfigDigest(published.image), await localConfigDigest(tools.version));
  });

  it("pushes the chart as an OCI artifact whose version and appVersion are package.json's", async () => {
    const { netns, registry, env, tools } = ready();
    const chartReference = `oci://${registry.host}/${chartRepository}/web-identity-webhook`;
    const show = [
      "show",
      "chart",
      chartReference,
      "--version",
      tools.version,
      "--ca-file",
      registry.caCertPath,
    ];
    const chart = parse((await runIn(netns, tools.helm, show, { env })).stdout) as Record<string, unknown>;
    assert.deepEqual(
      { name: chart.name, version: chart.version, appVersion: chart.appVersion },
      { name: "web-identity-webhook", version: tools.version, appVersion: tools.version },
    );
  });

  it("signs the pushed digest: cosign verify --key accepts the tag", async () => {
    const { registry, tools, key, cosignVerify } = ready();
    assert.ok(published);
    const { stdout } = await cosignVerify(
      `${registry.host}/${imageRepository}:${tools.version}`,
      key.publicKey,
    );
    const payloads = JSON.parse(stdout) as { critical: { image: { "docker-manifest-digest": string } } }[];
    assert.deepEqual(
      payloads.map((payload) => payload.critical.image["docker-manifest-digest"]),
      [published.digest],
    );
  });

  it("refuses the signature for another key", async () => {
    const { registry, tools, otherKey, cosignVerify } = ready();
    await assert.rejects(
      cosignVerify(`${registry.host}/${imageRepository}:${tools.version}`, otherKey.publicKey),
      /failed to verify signature: could not verify envelope/,
    );
  });

  it("refuses a tampered tag, and the signature copied onto the tampered image", async () => {
    const { registry, tools, key, publish, cosignVerify, remoteDigest } = ready();
    // A repository of its own, published with the phases the release workflow calls one by one.
    const repository = "tampered/web-identity-webhook";
    const pushed = lastLine(await publish(["image", "--image-repository", repository]));
    const digest = digestOf(pushed);
    const signed = await publish([
      "sign",
      digest,
      "--image-repository",
      repository,
      "--cosign-key",
      key.privateKey,
    ]);
    assert.equal(lastLine(signed), pushed);
    const tag = `${registry.host}/${repository}:${tools.version}`;
    await cosignVerify(tag, key.publicKey);

    const tamperedDigest = await pushTamperedImage(tag);
    assert.notEqual(tamperedDigest, digest);
    assert.equal(await remoteDigest(tag), tamperedDigest, "the tag names the tampered image");
    await assert.rejects(cosignVerify(tag, key.publicKey), /no signatures found/);

    // Whoever can push can copy the signature too: it names the signed digest, not the tampered one.
    await copySignatures(repository, digest, tamperedDigest);
    await assert.rejects(
      cosignVerify(tag, key.publicKey),
      /provided artifact digest does not match any digest in statement/,
    );
    // The signed digest still verifies: the refusals are the tampering, not a broken registry.
    await cosignVerify(pushed, key.publicKey);
  });

  it("signs only digests, never a tag", async () => {
    const { registry, tools, key, publish } = ready();
    await assert.rejects(
      publish([
        "sign",
        `${registry.host}/${imageRepository}:${tools.version}`,
        "--cosign-key",
        key.privateKey,
      ]),
      /is not an image digest \(sha256:<64 hex>\)/,
    );
  });
});
