// The few Pod fields the engine reads, as our own small types; everything else passes through untouched.

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: unknown;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
  readonly subPath?: string;
  readonly subPathExpr?: string;
}

/** A ConfigMap or Secret whose keys become variables; the engine sees only the names, never the keys. */
export interface EnvFromSource {
  readonly prefix?: string;
  readonly configMapRef?: { readonly name?: string } | null;
  readonly secretRef?: { readonly name?: string } | null;
}

export interface Container {
  readonly name: string;
  readonly env?: readonly EnvVar[] | null;
  readonly envFrom?: readonly EnvFromSource[] | null;
  readonly volumeMounts?: readonly VolumeMount[] | null;
  readonly restartPolicy?: string;
}

export interface ServiceAccountTokenProjection {
  readonly audience?: string;
  readonly path?: string;
}

export interface Volume {
  readonly name: string;
  readonly projected?: {
    readonly sources?:
      | readonly { readonly serviceAccountToken?: ServiceAccountTokenProjection | null }[]
      | null;
  } | null;
}

export interface PodMetadata {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly annotations?: Readonly<Record<string, string>> | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  /** Read only to name the pod's controller in an Event; never patched. */
  readonly ownerReferences?: readonly OwnerReference[] | null;
}

/** An object that owns the pod (a ReplicaSet, Job, StatefulSet...); the API server fills every field. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly containers?: readonly Container[] | null;
  readonly initContainers?: readonly Container[] | null;
  readonly volumes?: readonly Volume[] | null;
  readonly nodeSelector?: Readonly<Record<string, string>> | null;
  /** spec.os (GA in Kubernetes 1.25): the OS the pod must run on. */
  readonly os?: { readonly name?: string } | null;
}

export interface Pod {
  readonly metadata?: PodMetadata | null;
  readonly spec?: PodSpec | null;
}

/** The ServiceAccount facts a decision needs: its identity and the annotations relevant to us. */
export interface ServiceAccountRecord {
  readonly namespace: string;
  readonly name: string;
  /** Only the annotations `isRelevantAnnotation` keeps, so a cache of 100,000 stays small. */
  readonly annotations: Readonly<Record<string, string>>;
}
