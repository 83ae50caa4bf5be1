#!/usr/bin/env bash
# Builds the release and node-suite tools that have no Debian package from their Go modules, into
# $WEB_IDENTITY_WEBHOOK_CACHE/tools/<name>-<version>/<name> (see scripts/cache-dir.sh):
#   cosign      signs and verifies the image (the release workflow uses the same version)
#   minio       the S3 API and the STS that verifies web-identity tokens in the node suite
#   actionlint  lints .github/workflows
#
# Usage: scripts/build-tools.sh NAME...
#   Progress and errors go to stderr; stdout has one line per NAME, the path of its binary, in order.
#   A binary already built for the pinned version is only printed (no Go needed).
# Needs: go (>= the version the modules declare) and the Go module proxy.
set -euo pipefail

COSIGN_VERSION="v3.1.3"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"   # the newest commit the module proxy serves
ACTIONLINT_VERSION="v1.7.12"

# shellcheck source=scripts/cache-dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache-dir.sh"

log() { printf 'build-tools: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# package_of NAME: the Go package and version that build NAME.
package_of() {
  case "$1" in
    cosign) printf '%s\n' "github.com/sigstore/cosign/v3/cmd/cosign@${COSIGN_VERSION}" ;;
    minio) printf '%s\n' "github.com/minio/minio@${MINIO_VERSION}" ;;
    actionlint) printf '%s\n' "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}" ;;
    *) fail "unknown tool '$1' (known: cosign minio actionlint)" ;;
  esac
}

build() {
  local name="$1" package version dir
  package="$(package_of "${name}")"
  version="${package##*@}"
  dir="${cache_root}/tools/${name}-${version}"
  mkdir -p "${dir}"
  # One build of a tool at a time: a second caller (CI builds ahead in the background while the tests
  # that need the tool start) waits here for the first, then finds the binary built.
  local lock
  exec {lock}>"${dir}.lock"
  flock "${lock}"
  if [[ ! -x "${dir}/${name}" ]]; then
    command -v go >/dev/null 2>&1 || PATH="${PATH}:/usr/local/go/bin"
    command -v go >/dev/null 2>&1 || fail "go is not on PATH (nor in /usr/local/go/bin); install Go to build ${name}"
    local logfile="${dir}/build.log" started=${SECONDS}
    log "go install ${package} (log: ${logfile})"
    # GOBIN of its own so a half-built binary never lands under the final name.
    if ! CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="${dir}/.partial" \
      go install -trimpath -ldflags="-s -w" "${package}" >"${logfile}" 2>&1; then
      tail -n 40 "${logfile}" >&2
      fail "building ${name} failed; full log: ${logfile}"
    fi
    mv "${dir}/.partial/${name}" "${dir}/${name}"
    rmdir "${dir}/.partial"
    log "${name} built in $((SECONDS - started))s"
  fi
  exec {lock}>&-
  printf '%s\n' "${dir}/${name}"
}

[[ $# -gt 0 ]] || fail "usage: scripts/build-tools.sh cosign|minio|actionlint..."
for name in "$@"; do build "${name}"; done
