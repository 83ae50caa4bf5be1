// The pod and ServiceAccount shapes the e2e tests write and read back, and what the webhook should add to them.

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface Container {
  name: string;
  image: string;
  restartPolicy?: string;
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  [source: string]: unknown;
}

export interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  nodeSelector?: Record<string, string>;
  [field: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: PodSpec;
}

export const defaultMountPath = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
export const linuxTokenFile = `${defaultMountPath}/token`;
export const windowsTokenFile = "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token";
export const tokenMount: VolumeMount = { name: "aws-iam-token", readOnly: true, mountPath: defaultMountPath };
/** The ServiceAccount admission plugin's mount, named as comparableSpec names it. */
export const apiAccessMount: VolumeMount = {
  name: "kube-api-access",
  readOnly: true,
  mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
};

export interface TokenProjection {
  audience: string;
  expirationSeconds: number;
  path: string;
}

/** The serviceAccountToken source of the pod's aws-iam-token volume, if it has one. */
export function tokenProjection(spec: PodSpec): TokenProjection | undefined {
  const volume = spec.volumes?.find((v) => v.name === "aws-iam-token") as
    | { projected?: { sources?: { serviceAccountToken?: TokenProjection }[] } }
    | undefined;
  return volume?.projected?.sources?.[0]?.serviceAccountToken;
}

/** The projected token volume as the webhook adds it. */
export function tokenVolume(audience: string, expirationSeconds: number): Volume {
  return {
    name: "aws-iam-token",
    projected: { sources: [{ serviceAccountToken: { audience, expirationSeconds, path: "token" } }] },
  };
}

/** The projected token volume as the API server stores it: it defaults defaultMode to 0644. */
export function storedTokenVolume(audience: string, expirationSeconds: number): Volume {
  return {
    name: "aws-iam-token",
    projected: {
      sources: [{ serviceAccountToken: { audience, expirationSeconds, path: "token" } }],
      defaultMode: 420,
    },
  };
}

/** AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, in the order the webhook adds them. */
export function webIdentityEnv(roleArn: string, tokenFile = linuxTokenFile): EnvVar[] {
  return [
    { name: "AWS_ROLE_ARN", value: roleArn },
    { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: tokenFile },
  ];
}

export function serviceAccount(name: string, annotations: Record<string, string> = {}): unknown {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, annotations } };
}

export function container(name: string, fields: Partial<Container> = {}): Container {
  return { name, image: `registry.example.test/${name}:1`, ...fields };
}

export interface PodManifest {
  name?: string;
  generateName?: string;
  serviceAccountName: string;
  containers: Container[];
  initContainers?: Container[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
}

export function pod(manifest: PodManifest): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...(manifest.name === undefined ? {} : { name: manifest.name }),
      ...(manifest.generateName === undefined ? {} : { generateName: manifest.generateName }),
      ...(manifest.labels === undefined ? {} : { labels: manifest.labels }),
      ...(manifest.annotations === undefined ? {} : { annotations: manifest.annotations }),
    },
    spec: {
      serviceAccountName: manifest.serviceAccountName,
      containers: manifest.containers,
      ...(manifest.initContainers === undefined ? {} : { initContainers: manifest.initContainers }),
      ...(manifest.nodeSelector === undefined ? {} : { nodeSelector: manifest.nodeSelector }),
    },
  };
}

// The ServiceAccount admission plugin names its volume kube-api-access-<5 random characters>.
const apiAccessVolumeName = /kube-api-access-[a-z0-9]{5}/g;

/** The spec with the random suffix of the kube-api-access volume removed, so two pods' specs compare equal. */
export function comparableSpec(spec: PodSpec): PodSpec {
  return JSON.parse(JSON.stringify(spec).replace(apiAccessVolumeName, "kube-api-access")) as PodSpec;
}

/** Each container's field, by container name, init containers first. */
export function byContainer<K extends keyof Container>(
  spec: PodSpec,
  field: K,
): Record<string, Container[K]> {
  const result: Record<string, Container[K]> = {};
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) result[c.name] = c[field];
  return result;
}

/**
 * The spec a mutated pod should have: `spec` (a pod's spec without the webhook) plus the token volume, and for
 * each container named in `env`, those variables after its own and the token mount after its own mounts.
 */
export function withIdentity(spec: PodSpec, volume: Volume, env: Record<string, EnvVar[]>): PodSpec {
  const inject = (c: Container): Container => {
    const added = env[c.name];
    if (added === undefined) return c;
    return { ...c, env: [...(c.env ?? []), ...added], volumeMounts: [...(c.volumeMounts ?? []), tokenMount] };
  };
  return {
    ...spec,
    volumes: [...(spec.volumes ?? []), volume],
    containers: spec.containers.map(inject),
    ...(spec.initContainers === undefined ? {} : { initContainers: spec.initContainers.map(inject) }),
  };
}
