import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceAccountInfo } from "../../../src/doctor/api.js";
import { KubeApiError } from "../../../src/doctor/api.js";
import { checkServiceAccounts } from "../../../src/doctor/service-accounts.js";
import { formatCheck } from "../../../src/oidc/verify.js";
import { emptyCluster, type FakeCluster, fakeDoctorApi } from "./fake-doctor-api.js";

const prefix = "eks.amazonaws.com";
const role = "arn:aws:iam::111122223333:role/ledger";

function account(
  namespace: string,
  name: string,
  annotations: Record<string, string> = {},
): ServiceAccountInfo {
  return { namespace, name, annotations };
}

async function run(
  serviceAccounts: ServiceAccountInfo[],
  namespaces?: readonly string[],
  change: (cluster: FakeCluster) => void = () => {},
): Promise<{ lines: string[]; calls: string[] }> {
  const cluster = emptyCluster();
  cluster.serviceAccounts = serviceAccounts;
  change(cluster);
  const checks = await checkServiceAccounts(fakeDoctorApi(cluster), { annotationPrefix: prefix, namespaces });
  return { lines: checks.map(formatCheck), calls: cluster.calls };
}

const fixLine = "fix: correct each ServiceAccount below; pods get the change when they are created again";

describe("checkServiceAccounts", () => {
  it("passes when every role-arn is an IAM role ARN and no key is a near miss, counting what it read", async () => {
    const { lines, calls } = await run([
      account("payments", "ledger", {
        [`${prefix}/role-arn`]: role,
        [`${prefix}/audience`]: "sts.amazonaws.com",
      }),
      account("payments", "default"),
      account("gov", "reports", {
        [`${prefix}/role-arn`]: " arn:aws-us-gov:iam::111122223333:role/path/reports ",
      }),
      // A chart that renders the annotation empty when no role is set: no role, nothing wrong.
      account("web", "frontend", { [`${prefix}/role-arn`]: "" }),
      // Another tool's role annotation next to ours is left alone.
      account("ops", "kiam", { [`${prefix}/role-arn`]: role, "iam.example.com/role-arn": "x" }),
    ]);
    assert.deepEqual(lines, [
      `ok   ServiceAccounts: 5 read, 3 with ${prefix}/role-arn, every role an IAM role ARN, no misspelled annotation key`,
    ]);
    assert.deepEqual(calls, ["serviceAccounts (all)"]);
  });

  it("fails a role-arn that is not an IAM role ARN, with the command that sets one", async () => {
    const { lines } = await run([
      account("payments", "ledger", { [`${prefix}/role-arn`]: "arn:aws:iam::1111:role/ledger" }),
    ]);
    assert.deepEqual(lines, [
      `FAIL ServiceAccounts: 1 read, 1 with ${prefix}/role-arn, 1 with annotation problems — ${fixLine}`,
      `FAIL ServiceAccount payments/ledger: ${prefix}/role-arn "arn:aws:iam::1111:role/ledger" is not an IAM role ARN — fix: kubectl -n payments annotate serviceaccount ledger --overwrite ${prefix}/role-arn=arn:aws:iam::<12-digit account>:role/<name>`,
    ]);
  });

  it("fails a misspelled prefix, with the command that moves the value to the key the webhook reads", async () => {
    const { lines } = await run([account("payments", "ledger", { "eks.amazon.com/role-arn": role })]);
    assert.deepEqual(lines, [
      `FAIL ServiceAccounts: 1 read, 0 with ${prefix}/role-arn, 1 with annotation problems — ${fixLine}`,
      `FAIL ServiceAccount payments/ledger: annotation "eks.amazon.com/role-arn" is not read (did you mean ${prefix}/role-arn?) — fix: kubectl -n payments annotate serviceaccount ledger eks.amazon.com/role-arn- ${prefix}/role-arn=${role}`,
    ]);
  });

  it("only removes a near miss when the right key is set too, and quotes values the shell would split", async () => {
    const { lines } = await run([
      account("payments", "ledger", { [`${prefix}/role-arn`]: role, [`${prefix}/role_arn`]: role }),
      account("payments", "batch", { [`${prefix}/Audience`]: "my audience's" }),
    ]);
    assert.deepEqual(lines.slice(1), [
      `FAIL ServiceAccount payments/ledger: annotation "${prefix}/role_arn" is not read (did you mean ${prefix}/role-arn?) — fix: kubectl -n payments annotate serviceaccount ledger ${prefix}/role_arn-`,
      `FAIL ServiceAccount payments/batch: annotation "${prefix}/Audience" is not read (did you mean ${prefix}/audience?) — fix: kubectl -n payments annotate serviceaccount batch ${prefix}/Audience- ${prefix}/audience='my audience'\\''s'`,
    ]);
  });

  it("flags role-arn under another prefix when the ServiceAccount has no role of ours", async () => {
    const { lines } = await run([account("ops", "kiam", { "iam.example.com/role-arn": role })]);
    assert.equal(
      lines[1],
      `FAIL ServiceAccount ops/kiam: annotation "iam.example.com/role-arn" is not read (did you mean ${prefix}/role-arn?) — fix: kubectl -n ops annotate serviceaccount kiam iam.example.com/role-arn- ${prefix}/role-arn=${role}`,
    );
  });

  it("puts every problem of one ServiceAccount on its line", async () => {
    const { lines } = await run([
      account("payments", "ledger", {
        [`${prefix}/role-arn`]: "ledger",
        [`${prefix}/skip-containers`]: "sidecar",
      }),
    ]);
    assert.equal(
      lines[1],
      `FAIL ServiceAccount payments/ledger: ${prefix}/role-arn "ledger" is not an IAM role ARN; "${prefix}/skip-containers" is read only on pods — fix: kubectl -n payments annotate serviceaccount ledger --overwrite ${prefix}/role-arn=arn:aws:iam::<12-digit account>:role/<name>; move ${prefix}/skip-containers to the pod template's annotations (kubectl -n payments annotate serviceaccount ledger ${prefix}/skip-containers-)`,
    );
  });

  it("gives 20 ServiceAccounts a line each and counts the rest", async () => {
    const bad = Array.from({ length: 23 }, (_, i) =>
      account("team", `sa-${String(i).padStart(2, "0")}`, { [`${prefix}/role-arn`]: "nope" }),
    );
    const { lines } = await run([account("team", "fine"), ...bad]);
    assert.equal(lines.length, 22);
    assert.equal(
      lines[0],
      `FAIL ServiceAccounts: 24 read, 23 with ${prefix}/role-arn, 23 with annotation problems — ${fixLine}`,
    );
    assert.ok(lines[20]?.startsWith("FAIL ServiceAccount team/sa-19: "));
    assert.equal(
      lines[21],
      "FAIL and 3 more ServiceAccounts with annotation problems — fix: run doctor with --namespace-limit NAMESPACE to see them namespace by namespace",
    );
  });

  it("reads only the namespaces it is limited to, and says so", async () => {
    const { lines, calls } = await run(
      [account("payments", "ledger", { [`${prefix}/role-arn`]: role }), account("web", "frontend")],
      ["payments", "batch"],
    );
    assert.deepEqual(lines, [
      `ok   ServiceAccounts in payments, batch: 1 read, 1 with ${prefix}/role-arn, every role an IAM role ARN, no misspelled annotation key`,
    ]);
    assert.deepEqual(calls, ["serviceAccounts payments,batch"]);
  });

  it("fails a list the kubeconfig's user may not make, with the permission and --namespace-limit", async () => {
    const { lines } = await run([account("a", "one"), account("a", "two")], undefined, (cluster) => {
      cluster.serviceAccountsFailure = new KubeApiError(
        "list serviceaccounts --all-namespaces: HTTP 403",
        403,
      );
    });
    assert.deepEqual(lines, [
      "FAIL cannot list ServiceAccounts (after 2): list serviceaccounts --all-namespaces: HTTP 403 — fix: use a kubeconfig whose user may list serviceaccounts --all-namespaces (kubectl auth can-i list serviceaccounts --all-namespaces); or limit the check with --namespace-limit",
    ]);
  });
});
