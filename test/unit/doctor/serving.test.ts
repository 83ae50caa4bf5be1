import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KubeApiError, type MutatingWebhook, type WebhookProbe } from "../../../src/doctor/api.js";
import { checkServing } from "../../../src/doctor/serving.js";
import { formatCheck } from "../../../src/oidc/verify.js";
import { podWebhook, serverName, service, slicesFor, webhookName } from "./cluster-objects.js";
import { emptyCluster, type FakeCluster, fakeDoctorApi, servedCertificate } from "./fake-doctor-api.js";

const caPem = "-----BEGIN CERTIFICATE-----\n(the fake never reads it)\n-----END CERTIFICATE-----\n";
const uid = "doctor-test-uid";
const label = `webhook ${webhookName}`;
const logs = "read the webhook pods' logs";
const unreachableFix =
  "run doctor from inside the cluster network, as the API server connects: on a node, or in a pod " +
  "(kubectl run web-identity-webhook-doctor --rm -i --restart=Never --image=WEBHOOK_IMAGE -- doctor, " +
  "as a ServiceAccount that may read what doctor reads); the service proxy check tells whether the API server reaches the webhook";
const proxyOk = `ok   ${label}: GET /healthz through the API server's service proxy answers 200`;
const certificateOk = `ok   ${label}: 10.0.0.7:8443 serves a certificate for ${serverName} that the caBundle trusts (valid until ${servedCertificate.validTo})`;
const answerOk = `ok   ${label} allows a test pod: POST /mutate at 10.0.0.7:8443 answered an AdmissionReview`;

/** A cluster with the chart's Service and one ready endpoint, 10.0.0.7:8443. */
function installed(): FakeCluster {
  const cluster = emptyCluster();
  cluster.services.set("irsa/web-identity-webhook", service);
  cluster.endpointSlices.set("irsa/web-identity-webhook", slicesFor(["10.0.0.7"]));
  return cluster;
}

async function run(cluster: FakeCluster, webhook: MutatingWebhook = podWebhook(caPem)): Promise<string[]> {
  return (await checkServing(fakeDoctorApi(cluster), { webhook, caPem }, uid)).map(formatCheck);
}

function probed(probe: WebhookProbe): FakeCluster {
  const cluster = installed();
  cluster.probe = () => probe;
  return cluster;
}

describe("checkServing through a Service", () => {
  it("passes when an endpoint serves a trusted certificate for svc.namespace.svc, allows the review, and /healthz answers through the proxy", async () => {
    const cluster = installed();
    assert.deepEqual(await run(cluster), [certificateOk, answerOk, proxyOk]);
    assert.deepEqual(cluster.calls, [
      "readService irsa/web-identity-webhook",
      "listEndpointSlices irsa/web-identity-webhook",
      `probeWebhook 10.0.0.7:8443 ${serverName} /mutate`,
      "proxyGet irsa/web-identity-webhook:443/healthz",
    ]);
  });

  it("sends a dry-run AdmissionReview v1 for a pod of the default ServiceAccount in the Service's namespace", async () => {
    const cluster = installed();
    let sent: unknown;
    const healthy = cluster.probe;
    cluster.probe = (target, request) => {
      sent = JSON.parse(request.body);
      return healthy(target, request);
    };
    await run(cluster);
    assert.deepEqual(sent, {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid,
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        requestKind: { group: "", version: "v1", kind: "Pod" },
        requestResource: { group: "", version: "v1", resource: "pods" },
        name: "web-identity-webhook-doctor",
        namespace: "irsa",
        operation: "CREATE",
        userInfo: { username: "web-identity-webhook-doctor" },
        object: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "web-identity-webhook-doctor", namespace: "irsa" },
          spec: { serviceAccountName: "default", containers: [{ name: "app", image: "app" }] },
        },
        oldObject: null,
        dryRun: true,
        options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
      },
    });
  });

  it("fails a missing Service, and still asks the proxy", async () => {
    const cluster = emptyCluster();
    cluster.proxy = {
      status: 503,
      body: JSON.stringify({ kind: "Status", message: 'services "web-identity-webhook" not found' }),
    };
    assert.deepEqual(await run(cluster), [
      `FAIL Service irsa/web-identity-webhook (clientConfig.service of ${label}) not found — fix: create the Service (the chart does), or correct clientConfig.service`,
      `FAIL ${label}: GET /healthz through the API server's service proxy answers HTTP 503: services "web-identity-webhook" not found — fix: make the API server reach a ready webhook pod: kubectl -n irsa get pods; the Service's targetPort; NetworkPolicies, firewalls and security groups between the control plane and the pods`,
    ]);
  });

  it("fails a Service read the kubeconfig's user may not make", async () => {
    const cluster = installed();
    cluster.failures.readService = new KubeApiError(
      "get service web-identity-webhook -n irsa: HTTP 403",
      403,
    );
    assert.deepEqual(
      (await run(cluster))[0],
      "FAIL cannot read Service irsa/web-identity-webhook: get service web-identity-webhook -n irsa: HTTP 403 — fix: use a kubeconfig whose user may get services -n irsa (kubectl auth can-i get services -n irsa)",
    );
  });

  it("fails when the Service has no port clientConfig.service.port names", async () => {
    const cluster = installed();
    cluster.services.set("irsa/web-identity-webhook", { ports: [{ name: "https", port: 8443 }] });
    assert.deepEqual(
      (await run(cluster))[0],
      `FAIL Service irsa/web-identity-webhook has no port 443 (clientConfig.service.port of ${label}) — fix: set clientConfig.service.port to the Service's https port (it has 8443)`,
    );
  });

  it("fails when the EndpointSlices cannot be listed", async () => {
    const cluster = installed();
    cluster.failures.listEndpointSlices = new KubeApiError("list endpointslices -n irsa: HTTP 403", 403);
    assert.deepEqual(
      (await run(cluster))[0],
      "FAIL cannot list the EndpointSlices of Service irsa/web-identity-webhook: list endpointslices -n irsa: HTTP 403 — fix: use a kubeconfig whose user may list endpointslices.discovery.k8s.io -n irsa (kubectl auth can-i list endpointslices.discovery.k8s.io -n irsa)",
    );
  });

  it("fails when no endpoint is ready", async () => {
    const cluster = installed();
    cluster.endpointSlices.set("irsa/web-identity-webhook", [
      { ports: [{ name: "https", port: 8443 }], endpoints: [{ addresses: ["10.0.0.7"], ready: false }] },
    ]);
    assert.deepEqual(await run(cluster), [
      "FAIL Service irsa/web-identity-webhook has no ready endpoint for port 443 — fix: start the webhook's pods and make them ready, with labels the Service selects: kubectl -n irsa describe service web-identity-webhook; kubectl -n irsa get endpointslices -l kubernetes.io/service-name=web-identity-webhook",
      proxyOk,
    ]);
  });

  it("tries up to three endpoints and reports each one's error when none is reachable from here", async () => {
    const cluster = installed();
    cluster.endpointSlices.set(
      "irsa/web-identity-webhook",
      slicesFor(["10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10"]),
    );
    cluster.probe = (target) => ({
      reached: false,
      error: target.host === "10.0.0.8" ? "ECONNREFUSED" : "no TLS handshake within 2000 ms",
    });
    assert.deepEqual(await run(cluster), [
      `FAIL ${label}: no endpoint answers from here (10.0.0.7:8443: no TLS handshake within 2000 ms; 10.0.0.8:8443: ECONNREFUSED; 10.0.0.9:8443: no TLS handshake within 2000 ms) — fix: ${unreachableFix}`,
      proxyOk,
    ]);
  });

  it("uses the first endpoint it reaches", async () => {
    const cluster = installed();
    cluster.endpointSlices.set("irsa/web-identity-webhook", slicesFor(["10.0.0.6", "10.0.0.7"]));
    const healthy = cluster.probe;
    cluster.probe = (target, request) =>
      target.host === "10.0.0.6" ? { reached: false, error: "EHOSTUNREACH" } : healthy(target, request);
    assert.deepEqual(await run(cluster), [certificateOk, answerOk, proxyOk]);
  });

  const certificateFailures: [string, string, string][] = [
    [
      "a certificate another CA issued",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      `FAIL ${label}: the caBundle does not verify the certificate served at 10.0.0.7:8443 (subject ${servedCertificate.subject}, issuer ${servedCertificate.issuer}): UNABLE_TO_VERIFY_LEAF_SIGNATURE — fix: set the caBundle to the CA that issued the serving certificate, the only CA the API server trusts for it: self-managed and cert-manager modes write it themselves (restart the webhook, or read the cainjector's logs); certificates.mode=secret: certificates.secret.caBundle is the base64 of that CA`,
    ],
    [
      "a certificate for another name",
      "ERR_TLS_CERT_ALTNAME_INVALID",
      `FAIL ${label}: the certificate served at 10.0.0.7:8443 is not for ${serverName} (it names DNS:web-identity-webhook.irsa.svc) — fix: issue the serving certificate for ${serverName}, the name the API server checks (the chart's certificate modes do: check the Service's name and namespace)`,
    ],
    [
      "an expired certificate",
      "CERT_HAS_EXPIRED",
      `FAIL ${label}: the certificate served at 10.0.0.7:8443 expired (valid until ${servedCertificate.validTo}) — fix: renew the serving certificate (self-managed: restart the webhook; cert-manager: kubectl describe certificate; certificates.mode=secret: replace the Secret)`,
    ],
    [
      "a certificate not valid yet",
      "CERT_NOT_YET_VALID",
      `FAIL ${label}: the certificate served at 10.0.0.7:8443 is not valid yet — fix: check the clocks of this machine and of the host that issued the certificate`,
    ],
  ];
  for (const [what, verifyError, expected] of certificateFailures) {
    it(`fails ${what}, and sends no review`, async () => {
      const lines = await run(
        probed({ reached: true, certificate: servedCertificate, verifyError, answer: undefined }),
      );
      assert.deepEqual(lines, [expected, proxyOk]);
    });
  }

  const reached = { reached: true, certificate: servedCertificate, verifyError: undefined } as const;
  const answerFailures: [string, WebhookProbe, string][] = [
    [
      "no answer",
      { ...reached, answer: { error: "no answer within 5000 ms" } },
      `FAIL ${label} did not answer POST /mutate at 10.0.0.7:8443: no answer within 5000 ms — fix: ${logs}`,
    ],
    [
      "a 404, which means a wrong path",
      { ...reached, answer: { status: 404, body: "not found" } },
      `FAIL ${label} answered POST /mutate at 10.0.0.7:8443 with HTTP 404 — fix: set the clientConfig path to the webhook's admission path, /mutate`,
    ],
    [
      "a 500",
      { ...reached, answer: { status: 500, body: "boom" } },
      `FAIL ${label} answered POST /mutate at 10.0.0.7:8443 with HTTP 500 — fix: ${logs}`,
    ],
    [
      "a body that is not JSON",
      { ...reached, answer: { status: 200, body: "<html>" } },
      `FAIL ${label} answered POST /mutate at 10.0.0.7:8443 wrongly: the body is not JSON — fix: ${logs}`,
    ],
    [
      "JSON that is not an AdmissionReview",
      { ...reached, answer: { status: 200, body: "{}" } },
      `FAIL ${label} answered POST /mutate at 10.0.0.7:8443 wrongly: the body is not an AdmissionReview with a response — fix: ${logs}`,
    ],
    [
      "another review's uid",
      {
        ...reached,
        answer: { status: 200, body: JSON.stringify({ response: { uid: "x", allowed: true } }) },
      },
      `FAIL ${label} answered POST /mutate at 10.0.0.7:8443 wrongly: the response's uid is "x", not ${uid} — fix: ${logs}`,
    ],
    [
      "a denial",
      {
        ...reached,
        answer: {
          status: 200,
          body: JSON.stringify({ response: { uid, allowed: false, status: { message: "no way" } } }),
        },
      },
      `FAIL ${label} answered POST /mutate at 10.0.0.7:8443 wrongly: the response does not allow the pod (no way) — fix: ${logs}`,
    ],
  ];
  for (const [what, probe, expected] of answerFailures) {
    it(`fails ${what} to the review`, async () => {
      assert.deepEqual(await run(probed(probe)), [certificateOk, expected, proxyOk]);
    });
  }

  const proxyFailures: [string, FakeCluster["proxy"], string][] = [
    [
      "a proxy the user may not use",
      { status: 403, body: JSON.stringify({ kind: "Status", message: "forbidden" }) },
      `FAIL ${label}: GET /healthz through the API server's service proxy answers HTTP 403: forbidden — fix: use a kubeconfig whose user may get services/proxy (kubectl auth can-i get services/proxy -n irsa), or rely on the direct check`,
    ],
    [
      "a webhook that is not healthy",
      { status: 404, body: "404 page not found\n" },
      `FAIL ${label}: GET /healthz through the API server's service proxy answers HTTP 404: 404 page not found — fix: ${logs}`,
    ],
    [
      "an API server that does not answer",
      new KubeApiError("GET https://127.0.0.1:6443/api/v1/...: connect ECONNREFUSED", undefined),
      `FAIL ${label}: GET /healthz through the API server's service proxy failed: GET https://127.0.0.1:6443/api/v1/...: connect ECONNREFUSED — fix: check that the kubeconfig's API server is reachable from here (kubectl version), or pass --kubeconfig`,
    ],
  ];
  for (const [what, proxy, expected] of proxyFailures) {
    it(`fails ${what} through the proxy`, async () => {
      const cluster = installed();
      cluster.proxy = proxy;
      assert.deepEqual(await run(cluster), [certificateOk, answerOk, expected]);
    });
  }
});

describe("checkServing through a URL", () => {
  const urlWebhook = (url: string) =>
    podWebhook(caPem, { clientConfig: { url, caBundle: Buffer.from(caPem).toString("base64") } });

  it("checks a host name's certificate for that name, without a proxy check", async () => {
    const cluster = emptyCluster();
    assert.deepEqual(await run(cluster, urlWebhook("https://webhook.example.com:9443/mutate")), [
      `ok   ${label}: webhook.example.com:9443 serves a certificate for webhook.example.com that the caBundle trusts (valid until ${servedCertificate.validTo})`,
      `ok   ${label} allows a test pod: POST /mutate at webhook.example.com:9443 answered an AdmissionReview`,
    ]);
    assert.deepEqual(cluster.calls, ["probeWebhook webhook.example.com:9443 webhook.example.com /mutate"]);
  });

  it("checks an IP address's certificate for the address, and tells how to reach it when it cannot", async () => {
    const cluster = emptyCluster();
    cluster.probe = () => ({ reached: false, error: "ECONNREFUSED" });
    assert.deepEqual(await run(cluster, urlWebhook("https://127.0.0.1:9443/mutate")), [
      `FAIL ${label}: no endpoint answers from here (127.0.0.1:9443: ECONNREFUSED) — fix: make 127.0.0.1:9443 reachable from here, or run doctor where the API server runs: the API server must reach it too`,
    ]);
    assert.deepEqual(cluster.calls, ["probeWebhook 127.0.0.1:9443 (no name) /mutate"]);
  });

  it("fails a URL that is not https", async () => {
    assert.deepEqual(await run(emptyCluster(), urlWebhook("http://webhook.example.com/mutate")), [
      `FAIL ${label} clientConfig.url "http://webhook.example.com/mutate" is not an https URL — fix: use https://HOST[:PORT]/PATH, or point clientConfig.service at the webhook's Service`,
    ]);
  });
});
