#!/usr/bin/env bash
# Builds the Dockerfile with buildah (no Docker engine) into the project's container storage
# (scripts/containers-env.sh) as ghcr.io/web-identity-webhook/web-identity-webhook:<package.json version>, with
# --build-arg VERSION=<that version> and REVISION=<git commit, "-dirty" with uncommitted changes>.
#
# The FROM images are never pulled here (--pull=never): they must be in the project's storage already, either
# pulled (source scripts/containers-env.sh; podman pull NAME, for each name `scripts/base-images.sh --names`
# prints) or, where no registry is reachable, assembled locally as stand-ins by scripts/base-images.sh, which
# this script runs first when asked to: --stand-in-bases, or WEB_IDENTITY_WEBHOOK_STAND_IN_BASES=1. An image
# built on stand-ins carries the label io.github.web-identity-webhook.stand-in-for.
#
# When the host's npm is configured with a cafile, npm in the RUN steps is given that file through two read-only
# bind mounts that exist only while RUN steps run (scripts/build-ca-mounts.sh); the runtime stage has no RUN
# step, and nothing of them reaches the image.
#
# Usage: scripts/build-image.sh [--stand-in-bases]      (as root)
#   buildah's output and progress go to stderr; the last stdout line is the image name.
set -euo pipefail

repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/containers-env.sh
source "${repository}/scripts/containers-env.sh"

log() { printf 'build-image: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

stand_in_bases="${WEB_IDENTITY_WEBHOOK_STAND_IN_BASES:-0}"
for argument in "$@"; do
  case "${argument}" in
    --stand-in-bases) stand_in_bases=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
      exit 0
      ;;
    *) fail "unknown argument '${argument}' (usage: scripts/build-image.sh [--stand-in-bases])" ;;
  esac
done
[[ "${stand_in_bases}" == 0 || "${stand_in_bases}" == 1 ]] ||
  fail "WEB_IDENTITY_WEBHOOK_STAND_IN_BASES is '${stand_in_bases}': set 1 (assemble stand-ins) or 0 (use the images in the storage)"
command -v buildah >/dev/null || fail "buildah is not installed: run scripts/install-system-packages.sh"

version="$(node -p 'require(process.argv[1]).version' "${repository}/package.json")"
[[ "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
  fail "package.json version '${version}' is not a semantic version (e.g. 0.1.0): it becomes the image tag"
image="ghcr.io/web-identity-webhook/web-identity-webhook:${version}"

revision=""
if git -C "${repository}" rev-parse --verify --quiet HEAD >/dev/null; then
  revision="$(git -C "${repository}" rev-parse HEAD)"
  [[ -z "$(git -C "${repository}" status --porcelain)" ]] || revision="${revision}-dirty"
fi

if [[ "${stand_in_bases}" == 1 ]]; then
  bash "${repository}/scripts/base-images.sh" >/dev/null
fi
while read -r base; do
  podman image exists "${base}" ||
    fail "${base} (a FROM image of the Dockerfile) is not in the project's container storage: pull it (source scripts/containers-env.sh; podman pull ${base}) or pass --stand-in-bases to assemble a local stand-in"
  stand_in_for="$(podman image inspect --format '{{index .Labels "io.github.web-identity-webhook.stand-in-for"}}' "${base}")"
  [[ -z "${stand_in_for}" ]] || log "${base} is a local stand-in (scripts/base-images.sh), not the published image"
done < <(bash "${repository}/scripts/base-images.sh" --names)

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mounts=()
ca_mounts="$(bash "${repository}/scripts/build-ca-mounts.sh" "${work}")"
[[ -z "${ca_mounts}" ]] || mapfile -t mounts <<<"${ca_mounts}"

previous="$(podman image inspect --format '{{.Id}}' "${image}" 2>/dev/null || true)"
started=${SECONDS}
log "building ${image} (revision ${revision:-unknown})"
# --layers keeps each step's result, so a rebuild with the same package-lock.json skips `npm ci`.
# --network host: RUN steps use the host's network; a netavark bridge works too but leaves its iptables
# chains on the host. The OCI runtime (runc) is containers-env.sh's.
buildah bud --pull=never --layers --network host "${mounts[@]}" \
  --build-arg "VERSION=${version}" --build-arg "REVISION=${revision}" \
  --file "${repository}/Dockerfile" --tag "${image}" "${repository}" >&2
current="$(podman image inspect --format '{{.Id}}' "${image}")"
# The image this tag named before is kept by nothing else: its layers below the app stay as build cache.
if [[ -n "${previous}" && "${previous}" != "${current}" ]]; then
  podman rmi "${previous}" >/dev/null 2>&1 || log "kept the previous ${image} (${previous:0:12}): a container still uses it"
fi
size="$(podman image inspect --format '{{.Size}}' "${image}")"
log "built ${image} in $((SECONDS - started)) s: $((size / 1000000)) MB"
printf '%s\n' "${image}"
