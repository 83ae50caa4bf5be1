// `serve` in the built image, locked down as the chart runs it (read-only root, no capabilities, no new
// privileges): a review over TLS, /readyz, and a clean exit after the drain on SIGTERM.
import assert from "node:assert/strict";
import { chmod, chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ensureSelfSignedCertificate } from "../../src/server/self-signed.js";
import { httpsRequest, waitUntilReady } from "../package/serve-process.js";
import { assertExampleReviewAnswer } from "../support/example-review.js";
import { freePort } from "../support/ports.js";
import { until } from "../support/until.js";
import { containerName, createPodman, type Podman, projectDir, projectImage } from "./podman.js";

const imageUser = 65532;
const shutdownDelayMs = 3000; // serve's default --shutdown-delay
const stopTimeoutSeconds = 20;

let podman: Podman;
let work: string;
let name: string;
let port: number;
let ca: string;

before(async () => {
  podman = await createPodman();
  const image = await projectImage();
  const exists = await podman.run(["image", "exists", image.name]);
  assert.equal(exists.code, 0, `${image.name} is not built: run "npm run image"`);
  work = await mkdtemp(join(tmpdir(), "web-identity-webhook-image-"));
  const certs = join(work, "certs");
  await ensureSelfSignedCertificate(join(certs, "tls.crt"), join(certs, "tls.key"));
  // As a Secret volume with fsGroup would give it: the key readable by the webhook's user only.
  await chmod(work, 0o755);
  await chmod(certs, 0o755);
  await chown(join(certs, "tls.key"), imageUser, imageUser);
  ca = await readFile(join(certs, "tls.crt"), "utf8");
  port = await freePort();
  name = containerName("serve");
  await podman.ok([
    "run",
    "--detach",
    "--name",
    name,
    "--read-only",
    "--read-only-tmpfs=false",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    // The host's network, listening on loopback only: a port mapping would go through netavark, which leaves
    // its iptables chains on the host.
    "--network",
    "host",
    "--volume",
    `${certs}:/certs:ro`,
    "--volume",
    `${join(projectDir, "examples/serviceaccounts.yaml")}:/config/serviceaccounts.yaml:ro`,
    image.name,
    "serve",
    "--listen-address",
    "127.0.0.1",
    "--port",
    String(port),
    "--metrics-port",
    "0",
    "--tls-cert",
    "/certs/tls.crt",
    "--tls-key",
    "/certs/tls.key",
    "--service-accounts-file",
    "/config/serviceaccounts.yaml",
  ]);
  try {
    await waitUntilReady(port, ca, 30_000);
  } catch (error) {
    const logs = await podman.run(["logs", name]);
    throw new Error(`${(error as Error).message}; container log:\n${logs.stdout}${logs.stderr}`);
  }
});

after(async () => {
  if (name !== undefined) await podman.run(["rm", "--force", "--time", "0", name]);
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** The fields of /proc/PID/status of the container's first process, its command line and its root's mount options. */
async function processStatus(): Promise<Record<string, string>> {
  const pid = (await podman.ok(["inspect", "--format", "{{.State.Pid}}", name])).trim();
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const commandLine = await readFile(`/proc/${pid}/cmdline`, "utf8");
  const mounts = await readFile(`/proc/${pid}/mountinfo`, "utf8");
  const fields: Record<string, string> = {};
  for (const line of status.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  // mountinfo: id parent major:minor root mount-point options ...
  const root = mounts.split("\n").find((line) => line.split(" ")[4] === "/");
  fields.rootMountOptions = root?.split(" ")[5] ?? "no / in mountinfo";
  fields.commandLine = commandLine.split("\0").join(" ").trim();
  return fields;
}

test("serves as 65532 with a read-only root, no capabilities and no new privileges", async () => {
  const status = await processStatus();
  assert.match(
    status.commandLine ?? "",
    /^\/nodejs\/bin\/node .*\/app\/node_modules\/web-identity-webhook\/dist\/cli\/main\.js serve /,
  );
  assert.equal(status.Uid, `${imageUser}\t${imageUser}\t${imageUser}\t${imageUser}`);
  assert.equal(status.Gid, `${imageUser}\t${imageUser}\t${imageUser}\t${imageUser}`);
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
    assert.equal(status[set], "0000000000000000", set);
  }
  assert.equal(status.NoNewPrivs, "1");
  assert.match(status.rootMountOptions ?? "", /^ro(,|$)/);
});

test("answers /readyz and the example review with the expected patch over TLS", async () => {
  const ready = await httpsRequest(port, ca, "GET", "/readyz");
  assert.equal(ready.status, 200, ready.body);
  const review = await readFile(join(projectDir, "examples/review.json"), "utf8");
  const answer = await httpsRequest(port, ca, "POST", "/mutate", review);
  assert.equal(answer.status, 200, answer.body);
  assertExampleReviewAnswer(answer.body);
});

test("podman stop (SIGTERM): /readyz fails during the drain, then the process exits 0 by itself", async () => {
  const started = Date.now();
  const stopped = podman.ok(
    ["stop", "--time", String(stopTimeoutSeconds), name],
    (stopTimeoutSeconds + 10) * 1000,
  );
  let drainingStatus = 0;
  await until(
    async () => {
      drainingStatus = (await httpsRequest(port, ca, "GET", "/readyz").catch(() => ({ status: -1 }))).status;
      return drainingStatus !== 200;
    },
    "/readyz stops answering 200 after SIGTERM",
    { timeoutMs: shutdownDelayMs, intervalMs: 50 },
  );
  assert.equal(drainingStatus, 503, "during the shutdown delay /readyz answers 503");
  await stopped;
  const elapsedMs = Date.now() - started;
  const state = JSON.parse(await podman.ok(["inspect", "--format", "{{json .State}}", name])) as {
    Status: string;
    ExitCode: number;
  };
  assert.equal(state.Status, "exited");
  // 137 would be SIGKILL after --time; 0 is serve's own clean exit.
  assert.equal(state.ExitCode, 0);
  assert.ok(
    elapsedMs >= shutdownDelayMs,
    `stopped after ${elapsedMs} ms, before the ${shutdownDelayMs} ms drain`,
  );
  assert.ok(elapsedMs < stopTimeoutSeconds * 1000, `stopped after ${elapsedMs} ms: podman had to kill it`);
  const logs = await podman.ok(["logs", name]);
  const messages = logs
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg);
  assert.ok(messages.includes("shutting down: finishing in-flight reviews"), logs);
  assert.equal(messages.at(-1), "shut down", logs);
});
