#!/usr/bin/env bash
# Fails when a production dependency (what the image ships) has a known high or critical vulnerability.
#
# Usage: scripts/audit.sh
#   Runs `npm audit --omit=dev --audit-level=high` against the registry's advisory database.
#   Exit 0: nothing high or critical (lower severities are listed, not fatal).
#   Exit 1: high or critical advisories; the report says which package to upgrade.
#   Exit 2: the audit could not run (no network, the registry refused the advisory request); says why.
#   npm itself exits 1 in both failure cases, so the JSON report tells them apart.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

report="$(npm audit --omit=dev --json 2>/dev/null || true)"
# The program is JavaScript, in single quotes so that bash expands nothing in it.
# shellcheck disable=SC2016
AUDIT_REPORT="${report}" node --input-type=module -e '
const text = process.env.AUDIT_REPORT ?? "";
let report;
try {
  report = JSON.parse(text);
} catch {
  console.error(`audit: npm audit gave no JSON report: ${text.slice(0, 300) || "(empty)"}`);
  process.exit(2);
}
const counts = report.metadata?.vulnerabilities;
if (counts === undefined) {
  console.error(`audit: the audit could not run: ${report.message ?? report.error?.summary ?? JSON.stringify(report).slice(0, 300)}`);
  process.exit(2);
}
const serious = Object.values(report.vulnerabilities ?? {}).filter((v) => v.severity === "high" || v.severity === "critical");
for (const v of Object.values(report.vulnerabilities ?? {})) {
  const fix = v.fixAvailable === false ? "no fix yet" : v.fixAvailable === true ? "fix: npm audit fix" : `fix: ${v.fixAvailable.name}@${v.fixAvailable.version}`;
  console.log(`${v.severity}\t${v.name}\t${v.range}\t${fix}`);
}
console.log(`audit: production dependencies: ${counts.critical} critical, ${counts.high} high, ${counts.moderate} moderate, ${counts.low} low`);
process.exit(serious.length > 0 ? 1 : 0);
'
