// hostNetwork: the webhook on the node's own network, its DNS policy, and the node ports it must not take.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Container, Deployment, NetworkPolicy, Service } from "./kinds.js";
import { findObject, HelmError, renderChart } from "./render.js";

const hostValues = { hostNetwork: true, config: { port: 10270, metricsPort: 10271 } };

function webhookContainer(deployment: Deployment): Container {
  const [container] = deployment.spec.template.spec.containers;
  assert.ok(container);
  return container;
}

describe("hostNetwork", () => {
  it("is off by default, with no dnsPolicy of the chart's", async () => {
    const spec = findObject<Deployment>(await renderChart(), "Deployment").spec.template.spec;
    assert.equal(spec.hostNetwork, undefined);
    assert.equal(spec.dnsPolicy, undefined);
  });

  it("runs on the node's network with ClusterFirstWithHostNet, unless dnsPolicy says otherwise", async () => {
    const spec = findObject<Deployment>(await renderChart(hostValues), "Deployment").spec.template.spec;
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.dnsPolicy, "ClusterFirstWithHostNet");
    const overridden = findObject<Deployment>(
      await renderChart({ ...hostValues, dnsPolicy: "Default" }),
      "Deployment",
    ).spec.template.spec;
    assert.equal(overridden.dnsPolicy, "Default");
  });

  it("sets a dnsPolicy without hostNetwork when asked", async () => {
    const spec = findObject<Deployment>(await renderChart({ dnsPolicy: "ClusterFirst" }), "Deployment").spec
      .template.spec;
    assert.equal(spec.hostNetwork, undefined);
    assert.equal(spec.dnsPolicy, "ClusterFirst");
  });

  it("moves the flags, container ports, probes, Service and NetworkPolicy to the node ports together", async () => {
    const objects = await renderChart({ ...hostValues, networkPolicy: { enabled: true } });
    const container = webhookContainer(findObject<Deployment>(objects, "Deployment"));
    assert.ok(container.args.includes("--port=10270"));
    assert.ok(container.args.includes("--metrics-port=10271"));
    assert.deepEqual(
      container.ports?.map((p) => [p.name, p.containerPort]),
      [
        ["https", 10270],
        ["metrics", 10271],
      ],
    );
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe])
      assert.equal(probe?.httpGet.port, "https");
    const service = findObject<Service>(objects, "Service");
    assert.deepEqual(
      service.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [
        ["https", 443, "https"],
        ["metrics", 10271, "metrics"],
      ],
    );
    const policy = findObject<NetworkPolicy>(objects, "NetworkPolicy");
    assert.deepEqual(
      policy.spec.ingress.map((rule) => rule.ports.map((p) => p.port)),
      [["https"], ["metrics"]],
    );
  });

  describe("refuses a port of the node's own components", () => {
    const cases = [
      { key: "port", port: 10250, owner: "the kubelet's API", values: { port: 10250, metricsPort: 10271 } },
      {
        key: "metricsPort",
        port: 10250,
        owner: "the kubelet's API",
        values: { port: 10270, metricsPort: 10250 },
      },
      {
        key: "port",
        port: 10256,
        owner: "kube-proxy's healthz",
        values: { port: 10256, metricsPort: 10271 },
      },
      {
        key: "metricsPort",
        port: 10249,
        owner: "kube-proxy's metrics",
        values: { port: 10270, metricsPort: 10249 },
      },
    ];
    for (const { key, port, owner, values } of cases) {
      it(`config.${key}=${port}`, async () => {
        await assert.rejects(renderChart({ hostNetwork: true, config: values }), (error: unknown) => {
          assert.ok(error instanceof HelmError, String(error));
          assert.match(error.stderr, new RegExp(`config\\.${key} is ${port}, which with hostNetwork=true`));
          assert.ok(error.stderr.includes(`${port} belongs to ${owner}`), error.stderr);
          assert.match(error.stderr, /config\.port=10270 and config\.metricsPort=10271/);
          return true;
        });
      });
    }
  });

  it("allows the kubelet's port in the pod network, where it is the pod's own", async () => {
    const container = webhookContainer(
      findObject<Deployment>(await renderChart({ config: { port: 10250 } }), "Deployment"),
    );
    assert.ok(container.args.includes("--port=10250"));
  });

  it("refuses the metrics port on the HTTPS port, naming both values", async () => {
    await assert.rejects(
      renderChart({ hostNetwork: true, config: { port: 10270, metricsPort: 10270 } }),
      /config\.port and config\.metricsPort are both 10270/,
    );
  });

  it("accepts metrics off on the host network", async () => {
    const container = webhookContainer(
      findObject<Deployment>(
        await renderChart({ hostNetwork: true, config: { port: 10270, metricsPort: 0 } }),
        "Deployment",
      ),
    );
    assert.deepEqual(
      container.ports?.map((p) => p.name),
      ["https"],
    );
  });

  it("is typed by the schema", async () => {
    await assert.rejects(renderChart({ hostNetwork: "yes" }), /hostNetwork/);
    await assert.rejects(renderChart({ dnsPolicy: "None" }), /dnsPolicy/);
  });
});
