// The pod-level change: the projected ServiceAccount token volume, added once.

import type { Operation } from "fast-json-patch";
import type { Identity } from "../identity/identity.js";
import type { PodSpec } from "./pod.js";

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

/** Adds the token volume unless the pod already has a volume of that name (whatever its source). */
export function addTokenVolume(spec: PodSpec, identity: Identity): readonly Operation[] {
  const volumes = spec.volumes;
  if (volumes == null) return [{ op: "add", path: "/spec/volumes", value: [tokenVolume(identity)] }];
  for (const volume of volumes) {
    if (volume.name === tokenVolumeName) return noOperations;
  }
  return [{ op: "add", path: "/spec/volumes/-", value: tokenVolume(identity) }];
}
