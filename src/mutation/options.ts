// What the operator configured for the engine (from flags); shared by `serve` and `mutate`.

import type { RolePolicy } from "../policy/role-policy.js";

export interface EngineOptions {
  /** e.g. "eks.amazonaws.com": annotations are `${prefix}/role-arn`, ... */
  readonly annotationPrefix: string;
  /** Audience when the ServiceAccount names none. */
  readonly defaultAudience: string;
  /** Where the token volume is mounted (Linux path). */
  readonly mountPath: string;
  /** Token lifetime in seconds when no annotation sets one (600..86400). */
  readonly defaultExpiration: number;
  /** Value of AWS_REGION and AWS_DEFAULT_REGION, when set. */
  readonly region?: string;
  /** Inject AWS_STS_REGIONAL_ENDPOINTS=regional for every identity. */
  readonly stsRegionalEndpoint: boolean;
  /** --role-policy-file: the roles each namespace may use; absent means any role. */
  readonly rolePolicy?: RolePolicy;
}

export const defaultEngineOptions: EngineOptions = {
  annotationPrefix: "eks.amazonaws.com",
  defaultAudience: "sts.amazonaws.com",
  mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
  defaultExpiration: 86400,
  stsRegionalEndpoint: false,
};
