#!/usr/bin/env bash
# Publishes a release to an OCI registry: the one script CI (against a test registry) and the release workflow
# (against ghcr.io) run. Its phases, callable alone or together:
#   image       pushes the image built by scripts/build-image.sh from the project's container storage
#               (ghcr.io/web-identity-webhook/web-identity-webhook:<version>) to <registry>/<image repository>:<version>
#   chart       packages charts/web-identity-webhook and pushes it to oci://<registry>/<chart repository>
#   sign DIGEST signs <registry>/<image repository>@DIGEST (sha256:...) with cosign: by digest, never a tag,
#               so the signature covers what was pushed even if the tag moves
#   all         image, chart, then sign the pushed digest (the default)
# <version> is package.json's; the chart's version and appVersion must equal it.
#
# Usage: scripts/publish.sh [all|image|chart|sign DIGEST] [options]
#   --registry HOST            registry host[:port]               ($PUBLISH_REGISTRY, default ghcr.io)
#   --image-repository PATH    image repository in the registry   ($PUBLISH_IMAGE_REPOSITORY,
#                                                                   default web-identity-webhook/web-identity-webhook)
#   --chart-repository PATH    where the chart goes               ($PUBLISH_CHART_REPOSITORY, default web-identity-webhook/charts)
#   --ca-file FILE             PEM CA that signed the registry's certificate, for a private registry ($PUBLISH_CA_FILE)
#   --cosign-key FILE          sign with this cosign private key ($COSIGN_KEY; cosign asks for its password
#                              unless $COSIGN_PASSWORD has it). Without one, keyless: a Fulcio certificate for
#                              the ambient OIDC identity (GitHub Actions' id-token) and a Rekor entry
# Tools: skopeo (Debian), helm from scripts/install-helm.sh unless $HELM, cosign from scripts/build-tools.sh
# unless $COSIGN. Registry credentials come from the usual places (docker/login-action's ~/.docker/config.json).
# TLS is always verified, there is no insecure mode: a registry with a private CA needs --ca-file (or that CA
# in the system's trust, e.g. SSL_CERT_FILE).
#
# Prints on stdout, last line: image and all the pushed image's digest reference (<registry>/<repo>@sha256:...),
# chart the chart reference (oci://<registry>/<chart repository>/web-identity-webhook:<version>), sign the signed
# digest reference.
# Progress and errors go to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart_dir="${repo_root}/charts/web-identity-webhook"
chart_name="web-identity-webhook"
# The name scripts/build-image.sh gives the image in the project's container storage.
local_image_name="ghcr.io/web-identity-webhook/web-identity-webhook"

log() { printf 'publish: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; }

phase="all"
sign_digest=""
case "${1:-}" in
  all | image | chart) phase="$1"; shift ;;
  sign)
    phase="sign"
    [[ $# -ge 2 && "$2" != --* ]] || fail "sign needs the digest to sign: scripts/publish.sh sign sha256:<64 hex> [options]"
    sign_digest="$2"
    shift 2
    ;;
  -h | --help) usage; exit 0 ;;
  "" | --*) ;;
  *) usage; fail "unknown phase '$1' (phases: all, image, chart, sign DIGEST)" ;;
esac

registry="${PUBLISH_REGISTRY:-ghcr.io}"
image_repository="${PUBLISH_IMAGE_REPOSITORY:-web-identity-webhook/web-identity-webhook}"
chart_repository="${PUBLISH_CHART_REPOSITORY:-web-identity-webhook/charts}"
ca_file="${PUBLISH_CA_FILE:-}"
cosign_key="${COSIGN_KEY:-}"
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || fail "$1 needs a value"
  case "$1" in
    --registry) registry="$2" ;;
    --image-repository) image_repository="$2" ;;
    --chart-repository) chart_repository="$2" ;;
    --ca-file) ca_file="$2" ;;
    --cosign-key) cosign_key="$2" ;;
    *) fail "unknown option '$1' (see scripts/publish.sh --help)" ;;
  esac
  shift 2
done

[[ "${registry}" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:]+\](:[0-9]+)?$ ]] \
  || fail "--registry '${registry}' is not a registry host[:port] (no scheme, no path), e.g. ghcr.io or 127.0.0.1:5000"
for path in "${image_repository}" "${chart_repository}"; do
  [[ "${path}" =~ ^[a-z0-9]+([._/-][a-z0-9]+)*$ ]] \
    || fail "repository path '${path}' is not a lower-case OCI repository path, e.g. my-org/web-identity-webhook"
done
if [[ -n "${ca_file}" ]]; then
  [[ -r "${ca_file}" ]] || fail "--ca-file '${ca_file}' is not a readable file"
  ca_file="$(cd "$(dirname "${ca_file}")" && pwd)/$(basename "${ca_file}")"
fi
if [[ -n "${cosign_key}" ]]; then
  [[ -r "${cosign_key}" ]] || fail "--cosign-key '${cosign_key}' is not a readable file"
fi

[[ -z "${sign_digest}" || "${sign_digest}" =~ ^sha256:[0-9a-f]{64}$ ]] \
  || fail "sign: '${sign_digest}' is not an image digest (sha256:<64 hex>), e.g. docker/build-push-action's outputs.digest"
command -v node >/dev/null 2>&1 || fail "node is not on PATH (it reads package.json's version)"
version="$(node -p 'require(process.argv[1]).version' "${repo_root}/package.json")"
[[ "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] \
  || fail "package.json version '${version}' is not a semantic version: it becomes the image tag and the chart version"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/publish.XXXXXX")"
trap 'rm -rf "${work_dir}"' EXIT

push_image() {
  command -v skopeo >/dev/null 2>&1 || fail "skopeo is not installed (bash scripts/install-system-packages.sh)"
  # shellcheck source=scripts/containers-env.sh
  source "${repo_root}/scripts/containers-env.sh"
  local source="${local_image_name}:${version}" dest="${registry}/${image_repository}:${version}"
  local tls=()
  if [[ -n "${ca_file}" ]]; then
    # skopeo reads CAs from a folder of *.crt files.
    mkdir -p "${work_dir}/certs.d"
    cp "${ca_file}" "${work_dir}/certs.d/ca.crt"
    tls=(--dest-cert-dir "${work_dir}/certs.d")
  fi
  skopeo inspect --raw "containers-storage:${source}" >/dev/null 2>&1 \
    || fail "no image ${source} in the project's container storage: build it with scripts/build-image.sh"
  log "pushing ${source} to ${dest}"
  skopeo copy --quiet --format oci --dest-tls-verify=true "${tls[@]}" \
    --digestfile "${work_dir}/digest" "containers-storage:${source}" "docker://${dest}" >&2
  local digest
  digest="$(cat "${work_dir}/digest")"
  [[ "${digest}" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "skopeo reported digest '${digest}' for ${dest}"
  pushed_digest="${digest}"
  log "pushed ${registry}/${image_repository}@${digest}"
}

push_chart() {
  local helm="${HELM:-}"
  [[ -n "${helm}" ]] || helm="$("${repo_root}/scripts/install-helm.sh" | tail -n1)"
  local chart_version app_version
  chart_version="$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "${chart_dir}/Chart.yaml")"
  app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "${chart_dir}/Chart.yaml")"
  [[ "${chart_version}" == "${version}" && "${app_version}" == "${version}" ]] \
    || fail "${chart_dir}/Chart.yaml has version '${chart_version}' and appVersion '${app_version}'; both must be package.json's '${version}'"
  local tls=()
  [[ -z "${ca_file}" ]] || tls=(--ca-file "${ca_file}")
  "${helm}" package "${chart_dir}" --destination "${work_dir}" >&2
  log "pushing chart ${chart_name} ${version} to oci://${registry}/${chart_repository}"
  "${helm}" push "${work_dir}/${chart_name}-${version}.tgz" "oci://${registry}/${chart_repository}" "${tls[@]}" >&2
  pushed_chart="oci://${registry}/${chart_repository}/${chart_name}:${version}"
}

sign_image() {
  local ref="${registry}/${image_repository}@$1"
  local cosign="${COSIGN:-}"
  [[ -n "${cosign}" ]] || cosign="$("${repo_root}/scripts/build-tools.sh" cosign | tail -n1)"
  # --recursive: for a multi-arch index, each platform's manifest too, the digest a node actually pulls.
  local args=(sign --yes --recursive)
  [[ -z "${ca_file}" ]] || args+=(--registry-cacert "${ca_file}")
  if [[ -n "${cosign_key}" ]]; then
    # A signature by a private key is checked against its public key: no certificate authority and no
    # transparency log. A signing config naming no services and a trusted root naming none keep cosign from
    # reaching anything but the registry (without them it fetches Sigstore's from its TUF repository).
    printf '%s\n' '{"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json"}' \
      >"${work_dir}/signing-config.json"
    printf '%s\n' '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}' \
      >"${work_dir}/trusted-root.json"
    args+=(--key "${cosign_key}" --signing-config "${work_dir}/signing-config.json"
      --trusted-root "${work_dir}/trusted-root.json")
    log "signing ${ref} with the key ${cosign_key}"
  else
    log "signing ${ref} keyless (Fulcio certificate for this run's OIDC identity, Rekor entry)"
  fi
  "${cosign}" "${args[@]}" "${ref}" >&2
}

case "${phase}" in
  image) push_image; printf '%s\n' "${registry}/${image_repository}@${pushed_digest}" ;;
  chart) push_chart; printf '%s\n' "${pushed_chart}" ;;
  sign) sign_image "${sign_digest}"; printf '%s\n' "${registry}/${image_repository}@${sign_digest}" ;;
  all)
    push_image
    push_chart
    sign_image "${pushed_digest}"
    printf '%s\n' "${pushed_chart}"
    printf '%s\n' "${registry}/${image_repository}@${pushed_digest}"
    ;;
esac
