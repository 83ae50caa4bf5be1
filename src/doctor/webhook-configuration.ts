// Check 1: the MutatingWebhookConfiguration sends pod creations to a webhook, without side effects, with a caBundle.

import type { X509Certificate } from "node:crypto";
import { isValidAt, parseBundle } from "../certs/inspect.js";
import type { DoctorApi, MutatingWebhook, WebhookConfiguration, WebhookRule } from "./api.js";
import { apiFailureFix, type Check, errorMessage, fail, pass } from "./check.js";

/** The webhook entry that receives pods, with its caBundle decoded; absent when a check failed. */
export interface PodWebhook {
  readonly webhook: MutatingWebhook;
  readonly caPem: string;
}

export interface WebhookConfigurationChecks {
  readonly checks: readonly Check[];
  readonly podWebhook: PodWebhook | undefined;
}

const sideEffectsAccepted = new Set(["None", "NoneOnDryRun"]);

/** Reads the configuration `name` and checks it. */
export async function checkWebhookConfiguration(
  api: DoctorApi,
  name: string,
  now: Date,
): Promise<WebhookConfigurationChecks> {
  let configuration: WebhookConfiguration | undefined;
  try {
    configuration = await api.readWebhookConfiguration(name);
  } catch (error) {
    return {
      checks: [
        fail(
          `cannot read MutatingWebhookConfiguration ${name}: ${errorMessage(error)}`,
          apiFailureFix(error, "get mutatingwebhookconfigurations"),
        ),
      ],
      podWebhook: undefined,
    };
  }
  if (configuration === undefined) {
    return {
      checks: [
        fail(
          `MutatingWebhookConfiguration ${name} not found`,
          "install the chart (helm install web-identity-webhook charts/web-identity-webhook), or pass --webhook-config-name with a name from `kubectl get mutatingwebhookconfigurations`",
        ),
      ],
      podWebhook: undefined,
    };
  }
  return inspectWebhookConfiguration(configuration, now);
}

/** The checks of a configuration that exists. */
function inspectWebhookConfiguration(
  configuration: WebhookConfiguration,
  now: Date,
): WebhookConfigurationChecks {
  const checks: Check[] = [pass(`MutatingWebhookConfiguration ${configuration.name} exists`)];
  const webhook = configuration.webhooks.find((entry) => entry.rules.some(sendsPodCreations));
  if (webhook === undefined) {
    checks.push(
      fail(
        `MutatingWebhookConfiguration ${configuration.name} has no webhook with a rule for pods CREATE`,
        'add the rule {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]} to its webhook (the chart\'s template has it)',
      ),
    );
    return { checks, podWebhook: undefined };
  }
  const label = `webhook ${webhook.name}`;
  checks.push(pass(`${label} has a rule for pods CREATE`));

  const sideEffects = webhook.sideEffects;
  checks.push(
    sideEffects !== undefined && sideEffectsAccepted.has(sideEffects)
      ? pass(`${label} declares sideEffects ${sideEffects}`)
      : fail(
          `${label} declares sideEffects ${JSON.stringify(sideEffects)}, not None`,
          "set sideEffects: None; the webhook changes nothing but the pod, and the API server sends dry-run requests only to webhooks without side effects",
        ),
  );

  const { url, service } = webhook.clientConfig;
  if (url === undefined && service === undefined) {
    checks.push(
      fail(
        `${label} has neither clientConfig.service nor clientConfig.url`,
        "point clientConfig.service at the webhook's Service (the chart does)",
      ),
    );
    return { checks, podWebhook: undefined };
  }

  const caPem = decodeCaBundle(webhook.clientConfig.caBundle);
  const caCheck = checkCaBundle(label, caPem, now.getTime());
  checks.push(caCheck);
  return { checks, podWebhook: caCheck.ok ? { webhook, caPem } : undefined };
}

/** True for a rule that matches `CREATE` of core/v1 `pods` (wildcards included). */
function sendsPodCreations(rule: WebhookRule): boolean {
  return (
    (rule.operations.includes("CREATE") || rule.operations.includes("*")) &&
    (rule.apiGroups.includes("") || rule.apiGroups.includes("*")) &&
    (rule.apiVersions.includes("v1") || rule.apiVersions.includes("*")) &&
    (rule.resources.includes("pods") || rule.resources.includes("*") || rule.resources.includes("*/*"))
  );
}

function decodeCaBundle(caBundle: string | undefined): string {
  return Buffer.from(caBundle ?? "", "base64").toString("utf8");
}

const caBundleFix =
  "self-managed certificates: the webhook writes the caBundle when it starts, read its logs; cert-manager: check the cert-manager.io/inject-ca-from annotation and the cainjector's logs; certificates.mode=secret: set certificates.secret.caBundle to the base64 of ca.crt";

function checkCaBundle(label: string, caPem: string, now: number): Check {
  if (caPem.trim() === "") return fail(`${label} has an empty caBundle`, caBundleFix);
  let certificates: X509Certificate[];
  try {
    certificates = parseBundle(caPem);
  } catch (error) {
    return fail(
      `${label} caBundle holds a certificate that does not parse (${errorMessage(error)})`,
      caBundleFix,
    );
  }
  if (certificates.length === 0) {
    return fail(`${label} caBundle holds no PEM certificate`, `${caBundleFix} (base64 -w0 ca.crt)`);
  }
  const count = `${certificates.length} certificate${certificates.length === 1 ? "" : "s"}`;
  if (!certificates.some((certificate) => isValidAt(certificate, now))) {
    return fail(
      `${label} caBundle holds ${count}, none valid at ${new Date(now).toISOString()}`,
      `renew the CA (or correct this machine's clock); ${caBundleFix}`,
    );
  }
  return pass(`${label} caBundle holds ${count}`);
}
