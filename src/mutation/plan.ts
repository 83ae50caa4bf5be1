// What every container of one pod may receive: built from the identity and per-options constants.

import { posix } from "node:path";
import type { Identity } from "../identity/identity.js";
import type { EngineOptions } from "./options.js";
import type { EnvVar, Pod, VolumeMount } from "./pod.js";
import { tokenFileName, tokenVolumeName } from "./volume.js";

export interface MutationPlan {
  readonly mountPath: string;
  /** mountPath as `normalizeMountPath` gives it, for comparing with the pod's mounts. */
  readonly normalizedMountPath: string;
  readonly mount: VolumeMount;
  /** AWS_STS_REGIONAL_ENDPOINTS=regional, when the identity asks for it. */
  readonly stsRegionalEndpoints: EnvVar | undefined;
  /** AWS_DEFAULT_REGION and AWS_REGION, or none when no region is configured. */
  readonly region: readonly EnvVar[];
  /** AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE: the two go together. */
  readonly webIdentity: readonly EnvVar[];
}

interface OptionConstants {
  readonly normalizedMountPath: string;
  readonly mount: VolumeMount;
  readonly stsRegionalEndpoints: EnvVar;
  readonly region: readonly EnvVar[];
  readonly linuxTokenFile: string;
  readonly windowsTokenFile: string;
}

// Options are built once per process; these values derive from them alone, so build them once too.
const constantsByOptions = new WeakMap<EngineOptions, OptionConstants>();

function optionConstants(options: EngineOptions): OptionConstants {
  let constants = constantsByOptions.get(options);
  if (constants === undefined) {
    // path.join cleans the path as the reference's filepath.Join does ("/" + "token" is "/token").
    const linuxTokenFile = posix.join(options.mountPath, tokenFileName);
    constants = Object.freeze({
      normalizedMountPath: normalizeMountPath(options.mountPath),
      mount: Object.freeze({ name: tokenVolumeName, readOnly: true, mountPath: options.mountPath }),
      stsRegionalEndpoints: Object.freeze({ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" }),
      region:
        options.region === undefined
          ? Object.freeze([])
          : Object.freeze([
              Object.freeze({ name: "AWS_DEFAULT_REGION", value: options.region }),
              Object.freeze({ name: "AWS_REGION", value: options.region }),
            ]),
      linuxTokenFile,
      // The reference's conversion: C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token.
      windowsTokenFile: `C:${linuxTokenFile.replaceAll("/", "\\")}`,
    });
    constantsByOptions.set(options, constants);
  }
  return constants;
}

/**
 * The path as the kubelet mounts it: `.` segments, repeated and trailing slashes removed, so
 * "/var/run/secrets//x/./" and "/var/run/secrets/x" compare equal.
 */
export function normalizeMountPath(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/**
 * True when the pod runs on Windows: `spec.os.name` (GA in Kubernetes 1.25) when set, which the kubelet
 * enforces, else the reference's node selectors (`kubernetes.io/os` or `beta.kubernetes.io/os`).
 */
export function isWindowsPod(pod: Pod): boolean {
  const osName = pod.spec?.os?.name;
  if (osName !== undefined && osName !== "") return osName === "windows";
  const nodeSelector = pod.spec?.nodeSelector;
  return (
    nodeSelector?.["kubernetes.io/os"] === "windows" || nodeSelector?.["beta.kubernetes.io/os"] === "windows"
  );
}

export function planMutation(identity: Identity, pod: Pod, options: EngineOptions): MutationPlan {
  const constants = optionConstants(options);
  const tokenFile = isWindowsPod(pod) ? constants.windowsTokenFile : constants.linuxTokenFile;
  return {
    mountPath: options.mountPath,
    normalizedMountPath: constants.normalizedMountPath,
    mount: constants.mount,
    stsRegionalEndpoints: identity.stsRegionalEndpoints ? constants.stsRegionalEndpoints : undefined,
    region: constants.region,
    webIdentity: [
      { name: "AWS_ROLE_ARN", value: identity.roleArn },
      { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: tokenFile },
    ],
  };
}
