#!/usr/bin/env bash
# The buildah arguments that give npm in a build's RUN steps the CA file this host's npm trusts, for every
# image build of the project (scripts/build-image.sh, the node suite's SDK app in test/node/support/sdk-image.ts).
# When the host's npm is configured with a cafile (`npm config get cafile`), that file and an npmrc naming it
# are bind-mounted read-only at /usr/local/etc (npm's global config, for the npm under /usr/local of the node
# image): they exist only while RUN steps run, and nothing of them reaches the image. Without a cafile there
# is nothing to mount, and npm in the build trusts its own CA list, as it would on the host.
#
# Usage: scripts/build-ca-mounts.sh DIR
#   DIR: a folder of the caller's that outlives the build; the npmrc is written there, the caller removes it.
#   Prints one buildah argument per line (--volume=...): none when npm has no cafile. Logs to stderr.
set -euo pipefail

log() { printf 'build-ca-mounts: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

[[ $# -eq 1 && -d "$1" ]] || fail "usage: scripts/build-ca-mounts.sh DIR (an existing folder for the npmrc; got '$*')"
dir="$1"

ca_file="$(npm config get cafile 2>/dev/null || true)"
[[ -n "${ca_file}" && "${ca_file}" != null && "${ca_file}" != undefined ]] || exit 0
[[ -r "${ca_file}" ]] || fail "npm's cafile ${ca_file} is not readable: fix npm config cafile"
log "npm in the build trusts ${ca_file} (npm config cafile of this host), mounted for the RUN steps only"
printf 'cafile=/usr/local/etc/build-ca-bundle.crt\n' >"${dir}/npmrc"
printf '%s\n' \
  "--volume=${ca_file}:/usr/local/etc/build-ca-bundle.crt:ro" \
  "--volume=${dir}/npmrc:/usr/local/etc/npmrc:ro"
