// The chart's manifests against the real API server: every object passes server-side dry-run, and its RBAC,
// created for real, grants the webhook exactly what it needs and nothing around it.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Deployment } from "../chart/kinds.js";
import { chartDir, findObject, type KubeObject, renderChart } from "../chart/render.js";
import { type ResourceAttributes, serviceAccountMay } from "./chart-support/access-review.js";
import { collectionPath, kindKey, kindsWithoutCrd, submitObject } from "./chart-support/chart-objects.js";
import { startCluster, type TestCluster } from "./cluster/cluster.js";

const ciDir = join(chartDir, "ci");
const renderings = [
  { name: "the default values", valuesFiles: [] as string[] },
  ...readdirSync(ciDir)
    .filter((file) => file.endsWith("-values.yaml"))
    .sort()
    .map((file) => ({ name: `ci/${file}`, valuesFiles: [join(ciDir, file)] })),
];

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

describe("server-side dry-run of every object the chart renders", () => {
  const releaseNamespace = "iam";
  const rendered = new Map<string, KubeObject[]>();

  before(async () => {
    await cluster.createNamespace(releaseNamespace);
    for (const rendering of renderings) {
      rendered.set(
        rendering.name,
        await renderChart({}, { namespace: releaseNamespace, valuesFiles: rendering.valuesFiles }),
      );
    }
  });

  for (const rendering of renderings) {
    test(`the API server accepts every object rendered from ${rendering.name}`, async (t) => {
      const objects = rendered.get(rendering.name) ?? [];
      const submitted = objects.filter((object) => kindsWithoutCrd[kindKey(object)] === undefined);
      const skipped = objects.filter((object) => kindsWithoutCrd[kindKey(object)] !== undefined);
      t.diagnostic(
        `skipped (no CRD in the test cluster): ${skipped.map((o) => `${o.kind}/${o.metadata.name}`).join(", ") || "none"}`,
      );
      // A kind the path table does not know fails here, so nothing is skipped without a reason.
      for (const object of submitted) collectionPath(object, releaseNamespace);

      const refusals: string[] = [];
      for (const object of submitted) {
        const refusal = await submitObject(cluster.client, object, releaseNamespace, { dryRun: true });
        if (refusal !== undefined) refusals.push(refusal);
      }
      assert.deepEqual(refusals, []);
      const kinds = new Set(submitted.map((object) => object.kind));
      for (const kind of ["Deployment", "Service", "ServiceAccount", "MutatingWebhookConfiguration", "Pod"]) {
        assert.ok(kinds.has(kind), `${rendering.name} renders a ${kind} that was submitted`);
      }
    });
  }

  test("refuses an invalid object and stores nothing in dry-run, so an accepted object was validated and not created", async () => {
    const deployment = findObject<Deployment>(rendered.get("the default values") ?? [], "Deployment");
    const broken = { ...deployment, spec: { ...deployment.spec, replicas: -1 } };
    const refusal = await submitObject(cluster.client, broken, releaseNamespace, { dryRun: true });
    assert.match(refusal ?? "accepted", /^Deployment\/wiw-web-identity-webhook: HTTP 422: .*spec\.replicas/);
    const stored = await cluster.client.get(
      `/apis/apps/v1/namespaces/${releaseNamespace}/deployments/${deployment.metadata.name}`,
    );
    assert.equal(stored.status, 404);
  });

  test("skips only cert-manager and Prometheus Operator kinds, because the test cluster serves neither API", async () => {
    const skippedKinds = new Set(
      [...rendered.values()]
        .flat()
        .map(kindKey)
        .filter((key) => kindsWithoutCrd[key] !== undefined),
    );
    // Every listed kind is rendered by some values file: the list holds no stale excuse.
    assert.deepEqual([...skippedKinds].sort(), Object.keys(kindsWithoutCrd).sort());
    for (const [key, { project, groupVersionPath }] of Object.entries(kindsWithoutCrd)) {
      const res = await cluster.client.get(groupVersionPath);
      assert.equal(res.status, 404, `${key} (${project}): ${groupVersionPath} is not served`);
    }
  });
});

describe("the chart's RBAC, created for real and asked through SubjectAccessReview", () => {
  // Another release than the dry-run's, so its cluster-scoped objects do not collide with those.
  const releaseName = "access";
  const namespace = "access-check";
  const fullname = `${releaseName}-web-identity-webhook`;
  const serviceAccount = { namespace, name: fullname };
  const ownSecret = `${fullname}-tls`;
  const ownConfiguration = fullname;
  const rbacKinds = new Set(["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]);

  before(async () => {
    await cluster.createNamespace(namespace);
    const objects = await renderChart({}, { releaseName, namespace });
    const pod = findObject<Deployment>(objects, "Deployment").spec.template.spec;
    // The names asked about below are the ones the webhook is told to use.
    assert.equal(pod.serviceAccountName, serviceAccount.name);
    const args = pod.containers[0]?.args ?? [];
    assert.ok(args.includes(`--cert-secret-name=${ownSecret}`), args.join(" "));
    assert.ok(args.includes(`--webhook-config-name=${ownConfiguration}`), args.join(" "));
    for (const object of objects.filter((o) => rbacKinds.has(o.kind))) {
      const refusal = await submitObject(cluster.client, object, namespace, { dryRun: false });
      assert.equal(refusal, undefined);
    }
  });

  const secrets = { group: "", resource: "secrets" };
  const configurations = { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations" };
  const serviceAccounts = { group: "", resource: "serviceaccounts" };
  const checks = (verbs: string[], attributes: Omit<ResourceAttributes, "verb">): ResourceAttributes[] =>
    verbs.map((verb) => ({ verb, ...attributes }));

  const cases: { allowed: boolean; what: string; checks: ResourceAttributes[] }[] = [
    {
      allowed: true,
      what: "get, list and watch ServiceAccounts in every namespace",
      checks: checks(["get", "list", "watch"], serviceAccounts),
    },
    {
      allowed: true,
      what: "get and patch its own Secret",
      checks: checks(["get", "patch"], { ...secrets, namespace, name: ownSecret }),
    },
    {
      allowed: true,
      what: "create Secrets in its namespace",
      checks: checks(["create"], { ...secrets, namespace }),
    },
    {
      allowed: true,
      what: "get, watch and patch its own MutatingWebhookConfiguration",
      checks: checks(["get", "watch", "patch"], { ...configurations, name: ownConfiguration }),
    },
    {
      allowed: false,
      what: "update its own Secret or list, update its own MutatingWebhookConfiguration (it only patches)",
      checks: [
        ...checks(["update"], { ...secrets, namespace, name: ownSecret }),
        ...checks(["list", "update"], { ...configurations, name: ownConfiguration }),
      ],
    },
    {
      allowed: false,
      what: "get, update or patch another Secret in its namespace",
      checks: checks(["get", "update", "patch"], { ...secrets, namespace, name: "database-password" }),
    },
    {
      allowed: false,
      what: "delete its own Secret",
      checks: checks(["delete"], { ...secrets, namespace, name: ownSecret }),
    },
    {
      allowed: false,
      what: "list or watch Secrets in its namespace",
      checks: checks(["list", "watch"], { ...secrets, namespace }),
    },
    {
      allowed: false,
      what: "list, watch or get Secrets cluster-wide",
      checks: [
        ...checks(["list", "watch"], secrets),
        ...checks(["get"], { ...secrets, namespace: "default", name: ownSecret }),
      ],
    },
    {
      allowed: false,
      what: "create Secrets in another namespace",
      checks: checks(["create"], { ...secrets, namespace: "default" }),
    },
    {
      allowed: false,
      what: "get, update or patch another MutatingWebhookConfiguration",
      checks: checks(["get", "update", "patch"], { ...configurations, name: "someone-elses-webhook" }),
    },
    {
      allowed: false,
      what: "list or watch every MutatingWebhookConfiguration",
      checks: checks(["list", "watch"], configurations),
    },
    {
      allowed: false,
      what: "create MutatingWebhookConfigurations or delete its own",
      checks: [
        ...checks(["create"], configurations),
        ...checks(["delete"], { ...configurations, name: ownConfiguration }),
      ],
    },
    {
      allowed: false,
      what: "change ServiceAccounts",
      checks: checks(["create", "update", "patch", "delete"], { ...serviceAccounts, namespace: "default" }),
    },
  ];

  for (const { allowed, what, checks: asked } of cases) {
    test(`the webhook's ServiceAccount ${allowed ? "may" : "may not"} ${what}`, async () => {
      const answers = [];
      for (const attributes of asked) {
        const status = await serviceAccountMay(cluster.client, serviceAccount, attributes);
        assert.equal(status.evaluationError, undefined);
        answers.push({ ...attributes, allowed: status.allowed });
      }
      assert.deepEqual(
        answers,
        asked.map((attributes) => ({ ...attributes, allowed })),
      );
    });
  }
});
