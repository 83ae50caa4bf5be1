// The webhook Deployment and what keeps it available: flags, hardening, probes, spreading, disruption budget.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Container, Deployment, PodDisruptionBudget, PodSpec, Service } from "./kinds.js";
import { packageVersion } from "./package-version.js";
import { findObject, findObjects, renderChart } from "./render.js";

async function renderDeployment(values: Record<string, unknown> = {}): Promise<Deployment> {
  return findObject<Deployment>(await renderChart(values), "Deployment");
}

function webhookContainer(deployment: Deployment): Container {
  const containers = deployment.spec.template.spec.containers;
  assert.equal(containers.length, 1);
  return containers[0] as Container;
}

const selector = { "app.kubernetes.io/name": "web-identity-webhook", "app.kubernetes.io/instance": "wiw" };

describe("the webhook Deployment", () => {
  it("runs two replicas of `serve` from the appVersion image", async () => {
    const deployment = await renderDeployment();
    assert.equal(deployment.spec.replicas, 2);
    assert.deepEqual(deployment.spec.selector, { matchLabels: selector });
    const container = webhookContainer(deployment);
    assert.equal(container.image, `ghcr.io/web-identity-webhook/web-identity-webhook:${packageVersion}`);
    assert.equal(container.args[0], "serve");
  });

  it("pulls by digest when one is given, over the tag", async () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const container = webhookContainer(
      await renderDeployment({
        image: { registry: "registry.example.com", repository: "wiw", tag: "9.9.9", digest },
      }),
    );
    assert.equal(container.image, `registry.example.com/wiw@${digest}`);
  });

  it("uses the given tag, and no registry prefix when the registry is empty", async () => {
    const container = webhookContainer(
      await renderDeployment({ image: { registry: "", repository: "wiw", tag: "1.2.3" } }),
    );
    assert.equal(container.image, "wiw:1.2.3");
  });

  describe("passes every flag value", () => {
    const cases: { value: Record<string, unknown>; arg: string }[] = [
      { value: { annotationPrefix: "irsa.example.com" }, arg: "--annotation-prefix=irsa.example.com" },
      { value: { tokenAudience: "sts.example.com" }, arg: "--token-audience=sts.example.com" },
      { value: { tokenMountPath: "/var/run/aws" }, arg: "--token-mount-path=/var/run/aws" },
      { value: { tokenExpiration: 3600 }, arg: "--token-expiration=3600" },
      { value: { awsDefaultRegion: "eu-central-1" }, arg: "--aws-default-region=eu-central-1" },
      { value: { stsRegionalEndpoint: true }, arg: "--sts-regional-endpoint=true" },
      { value: { logLevel: "debug" }, arg: "--log-level=debug" },
      { value: { listenAddress: "::" }, arg: "--listen-address=::" },
      { value: { port: 9443 }, arg: "--port=9443" },
      { value: { metricsPort: 9100 }, arg: "--metrics-port=9100" },
      { value: { lookupTimeout: 1500 }, arg: "--lookup-timeout=1500" },
      { value: { maxBodyBytes: 10485760 }, arg: "--max-body-bytes=10485760" },
      { value: { shutdownDelay: 5000 }, arg: "--shutdown-delay=5000" },
      { value: { shutdownTimeout: 45000 }, arg: "--shutdown-timeout=45000" },
    ];
    for (const c of cases) {
      it(`config ${JSON.stringify(c.value)} → ${c.arg}`, async () => {
        const { args } = webhookContainer(await renderDeployment({ config: c.value }));
        assert.ok(args.includes(c.arg), `${c.arg} not in ${args.join(" ")}`);
      });
    }

    it("passes the defaults explicitly, and no region when none is set", async () => {
      const { args } = webhookContainer(await renderDeployment());
      assert.deepEqual(args.slice(0, 14), [
        "serve",
        "--annotation-prefix=eks.amazonaws.com",
        "--token-audience=sts.amazonaws.com",
        "--token-mount-path=/var/run/secrets/eks.amazonaws.com/serviceaccount",
        "--token-expiration=86400",
        "--sts-regional-endpoint=false",
        "--log-level=info",
        "--listen-address=0.0.0.0",
        "--port=8443",
        "--metrics-port=9999",
        "--lookup-timeout=2000",
        "--max-body-bytes=2097152",
        "--shutdown-delay=3000",
        "--shutdown-timeout=20000",
      ]);
      assert.ok(!args.some((a) => a.startsWith("--aws-default-region")));
    });

    it("appends extraArgs last and extraEnv after POD_NAMESPACE", async () => {
      const container = webhookContainer(
        await renderDeployment({
          config: {
            extraArgs: ["--kubeconfig=/etc/kube/config"],
            extraEnv: [{ name: "NODE_OPTIONS", value: "--max-old-space-size=200" }],
          },
        }),
      );
      assert.equal(container.args.at(-1), "--kubeconfig=/etc/kube/config");
      assert.deepEqual(container.env, [
        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "NODE_OPTIONS", value: "--max-old-space-size=200" },
      ]);
    });
  });

  it("runs hardened: non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp", async () => {
    const deployment = await renderDeployment();
    const pod = deployment.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 65532);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
    assert.deepEqual(webhookContainer(deployment).securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("probes /healthz (liveness) and /readyz (readiness) over HTTPS on the webhook port", async () => {
    const container = webhookContainer(await renderDeployment());
    assert.deepEqual(container.ports, [
      { name: "https", containerPort: 8443, protocol: "TCP" },
      { name: "metrics", containerPort: 9999, protocol: "TCP" },
    ]);
    assert.deepEqual(container.livenessProbe?.httpGet, { path: "/healthz", port: "https", scheme: "HTTPS" });
    assert.deepEqual(container.readinessProbe?.httpGet, { path: "/readyz", port: "https", scheme: "HTTPS" });
    assert.deepEqual(container.startupProbe?.httpGet, { path: "/healthz", port: "https", scheme: "HTTPS" });
  });

  it("has no metrics port when metrics are off", async () => {
    const objects = await renderChart({ config: { metricsPort: 0 } });
    const container = webhookContainer(findObject<Deployment>(objects, "Deployment"));
    assert.deepEqual(
      container.ports?.map((p) => p.name),
      ["https"],
    );
    assert.deepEqual(
      findObject<Service>(objects, "Service").spec.ports.map((p) => p.name),
      ["https"],
    );
  });

  it("gives the pod the shutdown delay and timeout plus 10 s to stop", async () => {
    const grace = async (shutdownTimeout: number, shutdownDelay = 0) =>
      (await renderDeployment({ config: { shutdownTimeout, shutdownDelay } })).spec.template.spec
        .terminationGracePeriodSeconds;
    assert.equal(await grace(20000), 30);
    assert.equal(await grace(20001), 31);
    assert.equal(await grace(0), 10);
    assert.equal(await grace(20000, 3000), 33);
    assert.equal((await renderDeployment()).spec.template.spec.terminationGracePeriodSeconds, 33);
  });

  it("sets POD_NAMESPACE from the downward API", async () => {
    const container = webhookContainer(await renderDeployment());
    assert.deepEqual(container.env, [
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    ]);
  });

  it("mounts a writable /tmp, since the root filesystem is read-only", async () => {
    const deployment = await renderDeployment();
    assert.deepEqual(webhookContainer(deployment).volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
    assert.deepEqual(deployment.spec.template.spec.volumes, [
      { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
    ]);
  });

  describe("availability", () => {
    it("is system-cluster-critical, spread across nodes and prefers separate nodes", async () => {
      const pod: PodSpec = (await renderDeployment()).spec.template.spec;
      assert.equal(pod.priorityClassName, "system-cluster-critical");
      assert.deepEqual(pod.topologySpreadConstraints, [
        {
          maxSkew: 1,
          topologyKey: "kubernetes.io/hostname",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selector },
        },
      ]);
      assert.deepEqual(pod.affinity, {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: selector },
              },
            },
          ],
        },
      });
    });

    it("requires separate nodes with podAntiAffinity hard, and drops the default with none", async () => {
      const hard = (await renderDeployment({ podAntiAffinity: "hard" })).spec.template.spec.affinity;
      assert.deepEqual(hard, {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selector } },
          ],
        },
      });
      assert.equal(
        (await renderDeployment({ podAntiAffinity: "none" })).spec.template.spec.affinity,
        undefined,
      );
    });

    it("uses the user's affinity instead of the default", async () => {
      const affinity = {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
      };
      assert.deepEqual((await renderDeployment({ affinity })).spec.template.spec.affinity, affinity);
    });

    it("adds the pods' selector to extra topology spread constraints", async () => {
      const pod = (
        await renderDeployment({
          topologySpread: { enabled: false },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" },
          ],
        })
      ).spec.template.spec;
      assert.deepEqual(pod.topologySpreadConstraints, [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: selector },
        },
      ]);
    });

    it("has a PodDisruptionBudget allowing one pod down, or keeping minAvailable when set", async () => {
      const pdb = findObject<PodDisruptionBudget>(await renderChart(), "PodDisruptionBudget");
      assert.deepEqual(pdb.spec, { selector: { matchLabels: selector }, maxUnavailable: 1 });
      const min = findObject<PodDisruptionBudget>(
        await renderChart({ podDisruptionBudget: { minAvailable: 2 } }),
        "PodDisruptionBudget",
      );
      assert.deepEqual(min.spec, { selector: { matchLabels: selector }, minAvailable: 2 });
      assert.deepEqual(
        findObjects(await renderChart({ podDisruptionBudget: { enabled: false } }), "PodDisruptionBudget"),
        [],
      );
    });

    it("never has fewer ready pods than replicas during a rollout", async () => {
      const deployment = (await renderDeployment()) as Deployment & {
        spec: { strategy: { rollingUpdate: { maxSurge: number; maxUnavailable: number } } };
      };
      assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    });
  });

  it("carries podLabels, podAnnotations, nodeSelector, tolerations and imagePullSecrets", async () => {
    const deployment = await renderDeployment({
      podLabels: { team: "platform" },
      podAnnotations: { "example.com/owner": "platform" },
      nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
      tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }],
      imagePullSecrets: [{ name: "registry" }],
    });
    const { metadata, spec } = deployment.spec.template;
    assert.equal(metadata.labels.team, "platform");
    assert.deepEqual(metadata.annotations, { "example.com/owner": "platform" });
    assert.deepEqual(spec.nodeSelector, { "node-role.kubernetes.io/control-plane": "" });
    assert.deepEqual(spec.tolerations, [{ key: "CriticalAddonsOnly", operator: "Exists" }]);
    assert.deepEqual(spec.imagePullSecrets, [{ name: "registry" }]);
  });

  it("exposes 443 → https and the metrics port through its Service", async () => {
    const service = findObject<Service>(await renderChart(), "Service");
    assert.deepEqual(service.spec.selector, selector);
    assert.deepEqual(service.spec.ports, [
      { name: "https", port: 443, targetPort: "https", protocol: "TCP" },
      { name: "metrics", port: 9999, targetPort: "metrics", protocol: "TCP" },
    ]);
  });
});
