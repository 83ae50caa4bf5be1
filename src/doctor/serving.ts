// Checks 2 and 3: the webhook serves a certificate its caBundle verifies, and answers an AdmissionReview and /healthz.

import type { HttpResponse } from "../oidc/http.js";
import { probeAnswerProblem, probeReview } from "./admission-probe.js";
import type { DoctorApi, ServiceInfo, WebhookProbe, WebhookServiceReference } from "./api.js";
import { apiFailureFix, type Check, errorMessage, fail, pass } from "./check.js";
import {
  defaultServicePort,
  type Endpoint,
  formatEndpoint,
  readyEndpoints,
  serviceServerName,
  urlTarget,
} from "./serving-target.js";
import type { PodWebhook } from "./webhook-configuration.js";

/** At most this many endpoints are tried; one that answers is enough. */
const maxEndpointsTried = 3;
const healthPath = "/healthz";

/** Where probes go and how failures to reach them read. */
interface ProbePlan {
  readonly label: string;
  readonly endpoints: readonly Endpoint[];
  readonly serverName: string | undefined;
  readonly caPem: string;
  readonly path: string;
  readonly namespace: string;
  readonly uid: string;
  readonly unreachableFix: string;
}

/** Connects to the webhook as the API server would (direct), and through the API server's service proxy. */
export async function checkServing(api: DoctorApi, podWebhook: PodWebhook, uid: string): Promise<Check[]> {
  const { webhook, caPem } = podWebhook;
  const label = `webhook ${webhook.name}`;
  const { service, url } = webhook.clientConfig;
  if (service !== undefined) {
    return [
      ...(await checkServiceDirectly(api, label, service, caPem, uid)),
      await checkServiceProxy(api, label, service),
    ];
  }
  const target = urlTarget(url ?? "");
  if (target === undefined) {
    return [
      fail(
        `${label} clientConfig.url ${JSON.stringify(url)} is not an https URL`,
        "use https://HOST[:PORT]/PATH, or point clientConfig.service at the webhook's Service",
      ),
    ];
  }
  const at = formatEndpoint(target.endpoint);
  return probeChecks(api, {
    label,
    endpoints: [target.endpoint],
    serverName: target.serverName,
    caPem,
    path: target.path,
    namespace: "default",
    uid,
    unreachableFix: `make ${at} reachable from here, or run doctor where the API server runs: the API server must reach it too`,
  });
}

async function checkServiceDirectly(
  api: DoctorApi,
  label: string,
  service: WebhookServiceReference,
  caPem: string,
  uid: string,
): Promise<Check[]> {
  const { namespace, name } = service;
  const serviceName = `Service ${namespace}/${name}`;
  const portNumber = service.port ?? defaultServicePort;
  let info: ServiceInfo | undefined;
  try {
    info = await api.readService(namespace, name);
  } catch (error) {
    return [
      fail(
        `cannot read ${serviceName}: ${errorMessage(error)}`,
        apiFailureFix(error, `get services -n ${namespace}`),
      ),
    ];
  }
  if (info === undefined) {
    return [
      fail(
        `${serviceName} (clientConfig.service of ${label}) not found`,
        "create the Service (the chart does), or correct clientConfig.service",
      ),
    ];
  }
  const servicePort = info.ports.find((port) => port.port === portNumber);
  if (servicePort === undefined) {
    return [
      fail(
        `${serviceName} has no port ${portNumber} (clientConfig.service.port of ${label})`,
        `set clientConfig.service.port to the Service's https port (it has ${info.ports.map((port) => port.port).join(", ") || "no ports"})`,
      ),
    ];
  }
  let endpoints: Endpoint[];
  try {
    endpoints = readyEndpoints(servicePort, await api.listEndpointSlices(namespace, name));
  } catch (error) {
    return [
      fail(
        `cannot list the EndpointSlices of ${serviceName}: ${errorMessage(error)}`,
        apiFailureFix(error, `list endpointslices.discovery.k8s.io -n ${namespace}`),
      ),
    ];
  }
  if (endpoints.length === 0) {
    return [
      fail(
        `${serviceName} has no ready endpoint for port ${portNumber}`,
        `start the webhook's pods and make them ready, with labels the Service selects: kubectl -n ${namespace} describe service ${name}; kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${name}`,
      ),
    ];
  }
  return probeChecks(api, {
    label,
    endpoints: endpoints.slice(0, maxEndpointsTried),
    serverName: serviceServerName(service),
    caPem,
    path: service.path ?? "/",
    namespace,
    uid,
    unreachableFix:
      "run doctor from inside the cluster network, as the API server connects: on a node, or in a pod " +
      "(kubectl run web-identity-webhook-doctor --rm -i --restart=Never --image=WEBHOOK_IMAGE -- doctor, " +
      "as a ServiceAccount that may read what doctor reads); the service proxy check tells whether the API server reaches the webhook",
  });
}

/** Probes the endpoints in turn until one is reached: its certificate, then its answer to the review. */
async function probeChecks(api: DoctorApi, plan: ProbePlan): Promise<Check[]> {
  const request = { path: plan.path, body: probeReview(plan.uid, plan.namespace) };
  const errors: string[] = [];
  for (const endpoint of plan.endpoints) {
    const probe = await api.probeWebhook(
      { host: endpoint.host, port: endpoint.port, serverName: plan.serverName, ca: plan.caPem },
      request,
    );
    const at = formatEndpoint(endpoint);
    if (!probe.reached) {
      errors.push(`${at}: ${probe.error}`);
      continue;
    }
    const certificate = certificateCheck(plan, at, plan.serverName ?? endpoint.host, probe);
    return certificate.ok ? [certificate, answerCheck(plan, at, probe.answer)] : [certificate];
  }
  return [fail(`${plan.label}: no endpoint answers from here (${errors.join("; ")})`, plan.unreachableFix)];
}

function certificateCheck(
  plan: ProbePlan,
  at: string,
  name: string,
  probe: Extract<WebhookProbe, { reached: true }>,
): Check {
  const { certificate, verifyError } = probe;
  const served = `the certificate served at ${at}`;
  switch (verifyError) {
    case undefined:
      return pass(
        `${plan.label}: ${at} serves a certificate for ${name} that the caBundle trusts (valid until ${certificate.validTo})`,
      );
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return fail(
        `${plan.label}: ${served} is not for ${name} (it names ${certificate.altNames.join(", ") || "nothing in subjectAltName"})`,
        `issue the serving certificate for ${name}, the name the API server checks (the chart's certificate modes do: check the Service's name and namespace)`,
      );
    case "CERT_HAS_EXPIRED":
      return fail(
        `${plan.label}: ${served} expired (valid until ${certificate.validTo})`,
        "renew the serving certificate (self-managed: restart the webhook; cert-manager: kubectl describe certificate; certificates.mode=secret: replace the Secret)",
      );
    case "CERT_NOT_YET_VALID":
      return fail(
        `${plan.label}: ${served} is not valid yet`,
        "check the clocks of this machine and of the host that issued the certificate",
      );
    default:
      return fail(
        `${plan.label}: the caBundle does not verify ${served} (subject ${certificate.subject}, issuer ${certificate.issuer}): ${verifyError}`,
        "set the caBundle to the CA that issued the serving certificate, the only CA the API server trusts for it: self-managed and cert-manager modes write it themselves (restart the webhook, or read the cainjector's logs); certificates.mode=secret: certificates.secret.caBundle is the base64 of that CA",
      );
  }
}

function answerCheck(
  plan: ProbePlan,
  at: string,
  answer: HttpResponse | { error: string } | undefined,
): Check {
  const sent = `POST ${plan.path} at ${at}`;
  const logs = "read the webhook pods' logs";
  if (answer === undefined || "error" in answer) {
    return fail(`${plan.label} did not answer ${sent}: ${answer?.error ?? "no answer"}`, logs);
  }
  if (answer.status !== 200) {
    return fail(
      `${plan.label} answered ${sent} with HTTP ${answer.status}`,
      answer.status === 404 ? "set the clientConfig path to the webhook's admission path, /mutate" : logs,
    );
  }
  const problem = probeAnswerProblem(answer, plan.uid);
  return problem === undefined
    ? pass(`${plan.label} allows a test pod: ${sent} answered an AdmissionReview`)
    : fail(`${plan.label} answered ${sent} wrongly: ${problem}`, logs);
}

async function checkServiceProxy(
  api: DoctorApi,
  label: string,
  service: WebhookServiceReference,
): Promise<Check> {
  const { namespace, name } = service;
  const what = `${label}: GET ${healthPath} through the API server's service proxy`;
  let response: HttpResponse;
  try {
    response = await api.proxyGet(namespace, name, service.port ?? defaultServicePort, healthPath);
  } catch (error) {
    return fail(`${what} failed: ${errorMessage(error)}`, apiFailureFix(error, "get services/proxy"));
  }
  if (response.status === 200) return pass(`${what} answers 200`);
  const detail = `${what} answers HTTP ${response.status}: ${statusMessage(response.body)}`;
  if (response.status === 401 || response.status === 403) {
    return fail(
      detail,
      `use a kubeconfig whose user may get services/proxy (kubectl auth can-i get services/proxy -n ${namespace}), or rely on the direct check`,
    );
  }
  if (response.status >= 500) {
    return fail(
      detail,
      `make the API server reach a ready webhook pod: kubectl -n ${namespace} get pods; the Service's targetPort; NetworkPolicies, firewalls and security groups between the control plane and the pods`,
    );
  }
  return fail(detail, "read the webhook pods' logs");
}

/** The `message` of a Kubernetes Status body, else the body's first line, cut short. */
function statusMessage(body: string): string {
  let text = body;
  try {
    const status: unknown = JSON.parse(body);
    if (
      typeof status === "object" &&
      status !== null &&
      "message" in status &&
      typeof status.message === "string"
    )
      text = status.message;
  } catch {
    // Not a Status: the webhook's own answer, shown as text.
  }
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 159)}…` : line || "(empty body)";
}
