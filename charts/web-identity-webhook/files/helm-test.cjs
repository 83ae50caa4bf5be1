// `helm test`: proves the webhook answers over TLS that the API server would trust. Runs with `node -e`
// in the webhook image (no shell, no curl). Reads CA_BUNDLE (base64 PEM) or the file CA_FILE, and
// WEBHOOK_HOST, WEBHOOK_PORT, NAMESPACE. Three steps, each named in its messages: 1 the Service's name
// resolves (within DNS_TIMEOUT_SECONDS, default 10), 2 /healthz and /readyz answer 200 over TLS, 3 /mutate
// allows a probe review. Steps 2 and 3 are retried every 2 s while the webhook starts; the whole test
// ends within TIMEOUT_SECONDS (default 60).
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const https = require("node:https");

const host = process.env.WEBHOOK_HOST;
const port = Number(process.env.WEBHOOK_PORT);
const namespace = process.env.NAMESPACE;
const requestTimeoutMs = 5000;
const retryDelayMs = 2000;
const dnsRetryDelayMs = 1000;
const started = Date.now();
const steps = { dns: "step 1/3 (DNS)", health: "step 2/3 (health)", review: "step 3/3 (review)" };
let current = "setup";

function seconds(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a positive number of seconds`);
  }
  return value * 1000;
}

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function caBundle() {
  if (process.env.CA_BUNDLE) return Buffer.from(process.env.CA_BUNDLE, "base64");
  try {
    return fs.readFileSync(process.env.CA_FILE);
  } catch (err) {
    throw new Error(
      `cannot read the CA at ${process.env.CA_FILE} (${err.code}): the certificate Secret must hold ca.crt`,
    );
  }
}

const lookupProgram = `require("node:dns").lookup(process.argv[1], { all: true }, (error, addresses) => {
  const answer = error ? { error: { code: error.code, message: error.message } } : { value: addresses };
  process.stdout.write(JSON.stringify(answer));
})`;

// The system resolver's answer for host, as https would get it, or { timedOut: true } after ms. It runs in
// a child process: a lookup waiting on a DNS server that never answers cannot be cancelled, and libuv
// holds a process's exit until such a lookup returns (tens of seconds with a pod's search domains).
function lookup(ms) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", lookupProgram, host], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      err += chunk;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ timedOut: true });
    }, ms);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ error });
    });
    child.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve({ error: new Error(`the lookup ended without an answer: ${err.trim().slice(0, 200)}`) });
      }
    });
  });
}

// Without cluster DNS every request would wait out its own lookup and the failure would name /healthz:
// the name is resolved once, up front, within a budget of its own, and the requests reuse the answer.
async function resolve(budgetMs) {
  const end = Date.now() + budgetMs;
  let reason = "";
  for (;;) {
    const outcome = await lookup(Math.max(1, end - Date.now()));
    if (outcome.value !== undefined && outcome.value.length > 0) return outcome.value;
    if (outcome.timedOut) {
      reason = `no DNS server answered within ${budgetMs / 1000} s`;
      break;
    }
    reason =
      outcome.error?.code === "ENOTFOUND"
        ? "the name does not exist (ENOTFOUND)"
        : `${outcome.error?.code ?? outcome.error?.message ?? "no address"}`;
    if (end - Date.now() <= dnsRetryDelayMs) break;
    console.error(`${steps.dns}: ${host}: ${reason}; retrying`);
    await sleep(dnsRetryDelayMs);
  }
  const service = host.split(".")[0];
  throw new Error(
    `DNS resolution of ${host} failed: ${reason}. The test pod cannot resolve the ` +
      `Service's name: check that cluster DNS (CoreDNS or kube-dns, usually in kube-system) is running and ` +
      `reachable from pods, and that the Service exists (kubectl -n ${namespace} get service ${service}).`,
  );
}

/** A lookup function that answers with the addresses already resolved. */
function resolvedLookup(addresses) {
  return (_name, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
    if (usable.length === 0) {
      callback(Object.assign(new Error(`${host} has no IPv${family} address`), { code: "ENOTFOUND" }));
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, usable[0].address, usable[0].family);
    }
  };
}

// Each request ends within its own budget (5 s, or what is left of the test's), connection and TLS included:
// https's timeout option only counts idle time once connected.
function request(target, method, path, body) {
  const budget = Math.max(1, Math.min(requestTimeoutMs, target.deadline - Date.now()));
  return new Promise((resolve, reject) => {
    const headers =
      body === undefined
        ? {}
        : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const options = { host, port, method, path, headers, ca: target.ca, servername: host, agent: false };
    const req = https.request(
      { ...options, lookup: target.lookup },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode, text });
        });
      },
    );
    const timer = setTimeout(() => {
      const why = `no answer within ${budget / 1000} s from ${target.addresses} port ${port}`;
      req.destroy(new Error(`${method} ${path}: ${why}`));
    }, budget);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

// A pod of the namespace's default ServiceAccount (normally without a role): the webhook must allow it.
function review(uid) {
  const gvk = { group: "", version: "v1", kind: "Pod" };
  const gvr = { group: "", version: "v1", resource: "pods" };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: "helm-test-probe",
      namespace,
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:helm-test" },
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "helm-test-probe", namespace },
        spec: { serviceAccountName: "default", containers: [{ name: "app", image: "app" }] },
      },
      oldObject: null,
      dryRun: true,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  });
}

async function health(target) {
  for (const path of ["/healthz", "/readyz"]) {
    const res = await request(target, "GET", path);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
}

async function admission(target) {
  const uid = `helm-test-${Date.now()}`;
  const res = await request(target, "POST", "/mutate", review(uid));
  if (res.status !== 200) throw new Error(`POST /mutate answered ${res.status}: ${res.text.slice(0, 200)}`);
  let answer;
  try {
    answer = JSON.parse(res.text).response;
  } catch {
    throw new Error(`POST /mutate answered 200 with no AdmissionReview: ${res.text.slice(0, 200)}`);
  }
  if (answer?.uid !== uid || answer.allowed !== true) {
    throw new Error(`POST /mutate did not allow the review ${uid}: ${res.text.slice(0, 300)}`);
  }
  return uid;
}

// Steps 2 and 3 until both pass or the deadline: the webhook may still be starting, or its certificate
// (self-managed) may be moments old.
async function probe(target) {
  let lastError;
  for (let attempt = 1; Date.now() < target.deadline; attempt++) {
    try {
      current = steps.health;
      await health(target);
      console.log(`${steps.health}: GET /healthz and /readyz answered 200 over TLS (${elapsed()})`);
      current = steps.review;
      const uid = await admission(target);
      console.log(`${steps.review}: POST /mutate allowed the probe review ${uid} (${elapsed()})`);
      return;
    } catch (err) {
      lastError = err;
      const left = target.deadline - Date.now();
      if (left <= 0) break;
      const retry = `retrying for ${Math.ceil(left / 1000)} s more`;
      console.error(`${current}, attempt ${attempt}: ${err.message}; ${retry}`);
      await sleep(Math.min(retryDelayMs, left));
    }
  }
  throw lastError ?? new Error(`no attempt fitted in TIMEOUT_SECONDS`);
}

async function main() {
  const timeoutMs = seconds("TIMEOUT_SECONDS", 60);
  const dnsTimeoutMs = Math.min(seconds("DNS_TIMEOUT_SECONDS", 10), timeoutMs);
  // Nothing below may hang past the budget, but should anything, this still ends the test, naming the step.
  const overdue = new Error(`no result within TIMEOUT_SECONDS (${timeoutMs / 1000} s)`);
  setTimeout(() => fail(overdue), timeoutMs + 2000).unref();
  const ca = caBundle();
  current = steps.dns;
  const addresses = await resolve(dnsTimeoutMs);
  const list = addresses.map((a) => a.address).join(", ");
  console.log(`${steps.dns}: ${host} resolves to ${list} (${elapsed()})`);
  await probe({ ca, addresses: list, lookup: resolvedLookup(addresses), deadline: started + timeoutMs });
  console.log(
    `ok: https://${host}:${port} serves /healthz, /readyz and /mutate with a certificate the CA trusts`,
  );
}

function fail(err) {
  console.error(`FAILED at ${current} after ${elapsed()}: ${err.message}`);
  process.exit(1);
}

main().catch(fail);
