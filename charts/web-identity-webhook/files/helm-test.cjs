// `helm test`: proves the webhook answers over TLS that the API server would trust. Runs with `node -e`
// in the webhook image (no shell, no curl). Reads CA_BUNDLE (base64 PEM) or the file CA_FILE, and
// WEBHOOK_HOST, WEBHOOK_PORT, NAMESPACE; retries for up to ATTEMPTS × 2 s while the webhook starts.
const https = require("node:https");
const fs = require("node:fs");

const host = process.env.WEBHOOK_HOST;
const port = Number(process.env.WEBHOOK_PORT);
const namespace = process.env.NAMESPACE;
const attempts = Number(process.env.ATTEMPTS || "30");

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

function request(ca, method, path, body) {
  return new Promise((resolve, reject) => {
    const headers =
      body === undefined
        ? {}
        : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const req = https.request(
      { host, port, method, path, ca, servername: host, headers, timeout: 5000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out after 5 s`)));
    req.on("error", reject);
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

async function check(ca) {
  for (const path of ["/healthz", "/readyz"]) {
    const res = await request(ca, "GET", path);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
  const uid = `helm-test-${Date.now()}`;
  const res = await request(ca, "POST", "/mutate", review(uid));
  if (res.status !== 200) throw new Error(`POST /mutate answered ${res.status}: ${res.text.slice(0, 200)}`);
  const answer = JSON.parse(res.text).response;
  if (answer?.uid !== uid || answer.allowed !== true) {
    throw new Error(`POST /mutate did not allow the review ${uid}: ${res.text.slice(0, 300)}`);
  }
}

async function main() {
  const ca = caBundle();
  let lastError;
  for (let i = 1; i <= attempts; i++) {
    try {
      await check(ca);
      console.log(
        `ok: https://${host}:${port} serves /healthz, /readyz and /mutate with a certificate the CA trusts`,
      );
      return;
    } catch (err) {
      lastError = err;
      console.error(`attempt ${i}/${attempts}: ${err.message}`);
      if (i < attempts) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  throw lastError;
}

main().catch((err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
