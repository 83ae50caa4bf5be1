// All of doctor's checks, in order, yielded as they finish so a slow network does not hide the earlier lines.

import type { DoctorApi } from "./api.js";
import type { Check } from "./check.js";
import { checkIssuer } from "./issuer.js";
import { checkServiceAccounts } from "./service-accounts.js";
import { checkServing } from "./serving.js";
import { checkWebhookConfiguration } from "./webhook-configuration.js";

export interface DoctorOptions {
  readonly webhookConfigurationName: string;
  readonly annotationPrefix: string;
  /** The issuer to check; the cluster's own when undefined. */
  readonly issuerUrl: string | undefined;
  /** Namespaces whose ServiceAccounts are checked; all when undefined. */
  readonly namespaces: readonly string[] | undefined;
  /** uid of the probe AdmissionReview. */
  readonly reviewUid: string;
  readonly now: Date;
}

/**
 * The webhook configuration, the served certificate and answers (left out when the configuration check
 * found no usable webhook), the ServiceAccounts, and the issuer.
 */
export async function* diagnose(api: DoctorApi, options: DoctorOptions): AsyncGenerator<Check> {
  const configuration = await checkWebhookConfiguration(api, options.webhookConfigurationName, options.now);
  yield* configuration.checks;
  if (configuration.podWebhook !== undefined) {
    yield* await checkServing(api, configuration.podWebhook, options.reviewUid);
  }
  yield* await checkServiceAccounts(api, {
    annotationPrefix: options.annotationPrefix,
    namespaces: options.namespaces,
  });
  yield* await checkIssuer(api, { issuerUrl: options.issuerUrl, now: options.now });
}
