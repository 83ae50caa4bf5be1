// The parts of the rendered Kubernetes objects that the chart tests (and e2e) read, as small types of our own.

import type { KubeObject } from "./render.js";

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface MutatingWebhook {
  readonly name: string;
  readonly admissionReviewVersions: readonly string[];
  readonly sideEffects: string;
  readonly failurePolicy: "Ignore" | "Fail";
  readonly matchPolicy: string;
  readonly reinvocationPolicy: string;
  readonly timeoutSeconds: number;
  readonly clientConfig: {
    readonly service: {
      readonly name: string;
      readonly namespace: string;
      readonly path: string;
      readonly port: number;
    };
    readonly caBundle?: string;
  };
  readonly rules: readonly {
    readonly operations: readonly string[];
    readonly apiGroups: readonly string[];
    readonly apiVersions: readonly string[];
    readonly resources: readonly string[];
    readonly scope?: string;
  }[];
  readonly namespaceSelector: LabelSelector;
  readonly objectSelector: LabelSelector;
}

export interface MutatingWebhookConfiguration extends KubeObject {
  readonly webhooks: readonly MutatingWebhook[];
}

export interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string | number; readonly scheme: string };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args: readonly string[];
  readonly env?: readonly {
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
  }[];
  readonly ports?: readonly { readonly name: string; readonly containerPort: number }[];
  readonly securityContext: Readonly<Record<string, unknown>>;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
  readonly resources?: Readonly<Record<string, unknown>>;
}

export interface Volume {
  readonly name: string;
  readonly emptyDir?: Readonly<Record<string, unknown>>;
  readonly configMap?: { readonly name: string };
  readonly secret?: {
    readonly secretName: string;
    readonly items?: readonly { key: string; path: string }[];
  };
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly hostNetwork?: boolean;
  readonly dnsPolicy?: string;
  readonly priorityClassName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext: Readonly<Record<string, unknown>>;
  readonly affinity?: Readonly<Record<string, unknown>>;
  readonly topologySpreadConstraints?: readonly {
    readonly topologyKey: string;
    readonly maxSkew: number;
    readonly whenUnsatisfiable: string;
    readonly labelSelector: LabelSelector;
  }[];
  readonly containers: readonly Container[];
  readonly volumes?: readonly Volume[];
  readonly imagePullSecrets?: readonly { readonly name: string }[];
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Readonly<Record<string, unknown>>[];
}

export interface Deployment extends KubeObject {
  readonly spec: {
    readonly replicas: number;
    readonly selector: LabelSelector;
    readonly strategy?: {
      readonly type: string;
      readonly rollingUpdate?: {
        readonly maxSurge: number | string;
        readonly maxUnavailable: number | string;
      };
    };
    readonly template: {
      readonly metadata: {
        readonly labels: Readonly<Record<string, string>>;
        readonly annotations?: Readonly<Record<string, string>>;
      };
      readonly spec: PodSpec;
    };
  };
}

export interface Pod extends KubeObject {
  readonly spec: PodSpec;
}

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

export interface Role extends KubeObject {
  readonly rules: readonly PolicyRule[];
}

export interface RoleBinding extends KubeObject {
  readonly roleRef: { readonly kind: string; readonly name: string };
  readonly subjects: readonly { readonly kind: string; readonly name: string; readonly namespace: string }[];
}

export interface Service extends KubeObject {
  readonly spec: {
    readonly selector: Readonly<Record<string, string>>;
    readonly ports: readonly {
      readonly name: string;
      readonly port: number;
      readonly targetPort: string | number;
    }[];
  };
}

export interface PodDisruptionBudget extends KubeObject {
  readonly spec: {
    readonly selector: LabelSelector;
    readonly minAvailable?: number | string;
    readonly maxUnavailable?: number | string;
  };
}

export interface Certificate extends KubeObject {
  readonly spec: {
    readonly secretName: string;
    readonly isCA?: boolean;
    readonly dnsNames?: readonly string[];
    readonly issuerRef: { readonly name: string; readonly kind: string; readonly group: string };
  };
}

export interface Issuer extends KubeObject {
  readonly spec: {
    readonly selfSigned?: Readonly<Record<string, never>>;
    readonly ca?: { readonly secretName: string };
  };
}

export interface NetworkPolicyPort {
  readonly port: string | number;
  readonly protocol: string;
}

export interface NetworkPolicy extends KubeObject {
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes: readonly string[];
    readonly ingress: readonly {
      readonly ports: readonly NetworkPolicyPort[];
      readonly from?: readonly Readonly<Record<string, unknown>>[];
    }[];
    readonly egress?: readonly {
      readonly ports: readonly NetworkPolicyPort[];
      readonly to?: readonly Readonly<Record<string, unknown>>[];
    }[];
  };
}

export interface ServiceMonitor extends KubeObject {
  readonly spec: {
    readonly selector: LabelSelector;
    readonly endpoints: readonly {
      readonly port: string;
      readonly path: string;
      readonly interval: string;
    }[];
  };
}
