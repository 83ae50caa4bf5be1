// The optional NetworkPolicy and ServiceMonitor.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Deployment, LabelSelector, NetworkPolicy, Pod, ServiceMonitor } from "./kinds.js";
import { findObject, findObjects, renderChart } from "./render.js";
import { selects } from "./selectors.js";

const selector = { "app.kubernetes.io/name": "web-identity-webhook", "app.kubernetes.io/instance": "wiw" };
const helmTestPod = { "app.kubernetes.io/instance": "wiw", "app.kubernetes.io/component": "test" };

describe("the NetworkPolicy", () => {
  it("is not created by default", async () => {
    assert.deepEqual(findObjects(await renderChart(), "NetworkPolicy"), []);
  });

  it("admits reviews from anywhere and metrics from anywhere, and lets out only the API server and DNS", async () => {
    const policy = findObject<NetworkPolicy>(
      await renderChart({ networkPolicy: { enabled: true } }),
      "NetworkPolicy",
    );
    assert.deepEqual(policy.spec, {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        { ports: [{ port: "https", protocol: "TCP" }] },
        { ports: [{ port: "metrics", protocol: "TCP" }] },
      ],
      egress: [
        {
          ports: [
            { port: 443, protocol: "TCP" },
            { port: 6443, protocol: "TCP" },
          ],
        },
        {
          ports: [
            { port: 53, protocol: "UDP" },
            { port: 53, protocol: "TCP" },
          ],
        },
      ],
    });
  });

  it("lets the release's helm test pod, and no other pod, reach the admission port once sources are narrowed", async () => {
    const objects = await renderChart({
      networkPolicy: { enabled: true, webhookIngressCIDRs: ["10.0.0.0/16"] },
    });
    const policy = findObject<NetworkPolicy>(objects, "NetworkPolicy");
    const peers = (policy.spec.ingress[0]?.from ?? []).filter((peer) => "podSelector" in peer);
    assert.equal(peers.length, 1, JSON.stringify(policy.spec.ingress[0]));
    const podSelector = (peers[0] as { podSelector: LabelSelector }).podSelector;
    assert.equal(selects(podSelector, findObject<Pod>(objects, "Pod").metadata.labels ?? {}), true);
    const webhookPod = findObject<Deployment>(objects, "Deployment").spec.template.metadata.labels;
    assert.equal(selects(podSelector, webhookPod), false);
    assert.equal(selects(podSelector, { ...helmTestPod, "app.kubernetes.io/instance": "other" }), false);
  });

  it("narrows reviews to the control plane's CIDRs, metrics to the given peers and egress to the API server's CIDRs", async () => {
    const monitoring = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
    };
    const policy = findObject<NetworkPolicy>(
      await renderChart({
        networkPolicy: {
          enabled: true,
          webhookIngressCIDRs: ["10.0.0.0/16", "fd00::/8"],
          metricsIngressFrom: [monitoring],
          egress: { apiServerCIDRs: ["10.0.0.10/32"], apiServerPorts: [443] },
        },
      }),
      "NetworkPolicy",
    );
    assert.deepEqual(policy.spec.ingress, [
      {
        ports: [{ port: "https", protocol: "TCP" }],
        from: [
          { ipBlock: { cidr: "10.0.0.0/16" } },
          { ipBlock: { cidr: "fd00::/8" } },
          { podSelector: { matchLabels: helmTestPod } },
        ],
      },
      { ports: [{ port: "metrics", protocol: "TCP" }], from: [monitoring] },
    ]);
    assert.deepEqual(policy.spec.egress?.[0], {
      ports: [{ port: 443, protocol: "TCP" }],
      to: [{ ipBlock: { cidr: "10.0.0.10/32" } }],
    });
  });

  it("leaves egress open when asked, and has no metrics rule without a metrics port", async () => {
    const policy = findObject<NetworkPolicy>(
      await renderChart({
        networkPolicy: { enabled: true, egress: { enabled: false } },
        config: { metricsPort: 0 },
      }),
      "NetworkPolicy",
    );
    assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
    assert.equal(policy.spec.egress, undefined);
    assert.deepEqual(policy.spec.ingress, [{ ports: [{ port: "https", protocol: "TCP" }] }]);
  });
});

describe("the ServiceMonitor", () => {
  it("is not created by default", async () => {
    assert.deepEqual(findObjects(await renderChart(), "ServiceMonitor"), []);
  });

  it("scrapes /metrics on the Service's metrics port, with the user's labels", async () => {
    const monitor = findObject<ServiceMonitor>(
      await renderChart({
        metrics: { serviceMonitor: { enabled: true, interval: "15s", labels: { release: "prometheus" } } },
      }),
      "ServiceMonitor",
    );
    assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(monitor.metadata.labels?.release, "prometheus");
    assert.deepEqual(monitor.spec.selector, { matchLabels: selector });
    assert.deepEqual(monitor.spec.endpoints, [
      { port: "metrics", scheme: "http", path: "/metrics", interval: "15s", scrapeTimeout: "10s" },
    ]);
  });

  it("is refused when metrics are off", async () => {
    await assert.rejects(
      renderChart({ metrics: { serviceMonitor: { enabled: true } }, config: { metricsPort: 0 } }),
      /metrics\.serviceMonitor\.enabled needs a metrics port: config\.metricsPort is 0/,
    );
  });
});
