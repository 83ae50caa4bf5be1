// The pod-level change: the projected ServiceAccount token volume, added once.

import type { Operation } from "fast-json-patch";
import type { Identity } from "../identity/identity.js";
import { quoted } from "../identity/quote.js";
import type { PodSpec, Volume } from "./pod.js";

/** The volume's name, as the reference webhook names it (other tools look for it). */
export const tokenVolumeName = "aws-iam-token";
/** The token's file name inside the mount. */
export const tokenFileName = "token";

export interface TokenVolume {
  readonly name: typeof tokenVolumeName;
  readonly projected: {
    readonly sources: readonly [
      {
        readonly serviceAccountToken: {
          readonly audience: string;
          readonly expirationSeconds: number;
          readonly path: typeof tokenFileName;
        };
      },
    ];
  };
}

const noOperations: readonly Operation[] = Object.freeze([]);

export function tokenVolume(identity: Identity): TokenVolume {
  return {
    name: tokenVolumeName,
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience: identity.audience,
            expirationSeconds: identity.expirationSeconds,
            path: tokenFileName,
          },
        },
      ],
    },
  };
}

/** True when the volume projects a ServiceAccount token for the identity's audience at the token's file name. */
function isIdentityTokenVolume(volume: Volume, identity: Identity): boolean {
  for (const source of volume.projected?.sources ?? []) {
    const token = source.serviceAccountToken;
    if (token?.path === tokenFileName && token.audience === identity.audience) return true;
  }
  return false;
}

/**
 * A warning when the pod has its own volume named aws-iam-token that does not hold the identity's token
 * (another source, or a token for another audience): env pointing into it would name a file that is not
 * the token STS expects, so the pod gets nothing.
 */
export function tokenVolumeConflict(spec: PodSpec, identity: Identity): string | undefined {
  const volume = spec.volumes?.find((candidate) => candidate.name === tokenVolumeName);
  if (volume === undefined || isIdentityTokenVolume(volume, identity)) return undefined;
  return (
    `the pod's volume ${tokenVolumeName} is not a projected ServiceAccount token for audience ` +
    `${quoted(identity.audience)} at path ${tokenFileName}; pod admitted without AWS credentials. ` +
    `Rename that volume: ${tokenVolumeName} is the webhook's`
  );
}

/** Adds the token volume unless the pod already has a volume of that name (see tokenVolumeConflict). */
export function addTokenVolume(spec: PodSpec, identity: Identity): readonly Operation[] {
  const volumes = spec.volumes;
  if (volumes == null) return [{ op: "add", path: "/spec/volumes", value: [tokenVolume(identity)] }];
  for (const volume of volumes) {
    if (volume.name === tokenVolumeName) return noOperations;
  }
  return [{ op: "add", path: "/spec/volumes/-", value: tokenVolume(identity) }];
}
