#!/usr/bin/env bash
# Builds the e2e cluster from Go modules: etcd, kube-apiserver and, for the real node, kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy and kubectl, all of one Kubernetes version, into
# $WEB_IDENTITY_WEBHOOK_CACHE/cluster-bin/<versions>/ (default ~/.cache/web-identity-webhook, outside any
# clone, so a fresh clone on the same machine reuses what an earlier one built). Beside them it puts
# pause.c, the source of the pod sandbox's pause image (build/pause/linux/pause.c of that Kubernetes
# module), which the node suite compiles (test/node/support/images.ts).
#
# Usage: scripts/build-cluster.sh
#   Progress and errors go to stderr; the last line of stdout is the bin dir holding every binary
#   above, so callers can run: bin_dir="$(scripts/build-cluster.sh | tail -n1)".
#   When every binary and pause.c for the pinned versions exist it only prints the paths (no Go needed).
#   Exits non-zero, naming the failed step and its log, when a build fails.
# Needs: go (>= the version the modules declare) and the Go module proxy.
set -euo pipefail

KUBERNETES_VERSION="v1.37.2"
ETCD_VERSION="v3.6.15"

# shellcheck source=scripts/cache-dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache-dir.sh"
bin_dir="${cache_root}/cluster-bin/kubernetes-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}"
work_root="${cache_root}/cluster-build"
# Built from k8s.io/kubernetes/cmd/<name>; the node suite needs all of them, the control-plane suite the first.
KUBERNETES_COMMANDS=(kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)

log() { printf 'build-cluster: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

print_result() {
  log "binaries: ${bin_dir} (etcd ${KUBERNETES_COMMANDS[*]}, pause.c)"
  printf '%s\n' "${bin_dir}"
}

# One build at a time per cache: a second caller (CI builds ahead in the background while tests that
# need the binaries start) waits here for the first, then finds the binaries built.
exec {build_lock}>"${cache_root}/cluster.lock"
flock "${build_lock}"

missing=()
for command_name in etcd "${KUBERNETES_COMMANDS[@]}"; do
  [[ -x "${bin_dir}/${command_name}" ]] || missing+=("${command_name}")
done
[[ -f "${bin_dir}/pause.c" ]] || missing+=(pause.c)
if [[ ${#missing[@]} -eq 0 ]]; then
  print_result
  exit 0
fi

command -v go >/dev/null 2>&1 || PATH="${PATH}:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || fail "go is not on PATH (nor in /usr/local/go/bin); install Go to build the e2e control plane"

export CGO_ENABLED=0
# A module that asks for a newer Go than installed must fail loudly, not download a toolchain.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=mod"

# run_step NAME LOGFILE CMD... runs CMD with output in LOGFILE and shows the log tail if it fails.
run_step() {
  local name="$1" logfile="$2"
  shift 2
  log "${name} (log: ${logfile})"
  if ! "$@" >"${logfile}" 2>&1; then
    tail -n 40 "${logfile}" >&2
    fail "${name} failed; full log: ${logfile}"
  fi
}

# Staging modules (k8s.io/api, k8s.io/apiserver, ...) are published as v0.<minor>.<patch>;
# k8s.io/kubernetes points them at ./staging, which a module consumer must replace.
build_kubernetes() {
  local dir="${work_root}/kubernetes-${KUBERNETES_VERSION}"
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  rm -rf "${dir}" && mkdir -p "${dir}"
  cd "${dir}"
  run_step "go mod init (kubernetes)" "${dir}/init.log" go mod init local.test/kubernetes-build
  run_step "download k8s.io/kubernetes@${KUBERNETES_VERSION}" "${dir}/download.log" \
    go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}"
  local upstream_mod
  upstream_mod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "${dir}/download.log")"
  [[ -f "${upstream_mod}" ]] || fail "could not find go.mod of k8s.io/kubernetes@${KUBERNETES_VERSION} in ${dir}/download.log"
  local module_dir
  module_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "${dir}/download.log")"
  [[ -f "${module_dir}/build/pause/linux/pause.c" ]] ||
    fail "k8s.io/kubernetes@${KUBERNETES_VERSION} (${module_dir:-no Dir in ${dir}/download.log}) has no build/pause/linux/pause.c"
  cp "${module_dir}/build/pause/linux/pause.c" "${bin_dir}/pause.c.partial"
  chmod 644 "${bin_dir}/pause.c.partial"
  mv "${bin_dir}/pause.c.partial" "${bin_dir}/pause.c"
  local staging_modules
  staging_modules="$(sed -n 's|^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*$|\1|p' "${upstream_mod}")"
  [[ -n "${staging_modules}" ]] || fail "no staging replace directives found in ${upstream_mod}"
  local edit_args=(-require "k8s.io/kubernetes@${KUBERNETES_VERSION}")
  local module
  for module in ${staging_modules}; do
    edit_args+=(-replace "${module}=${module}@${staging_version}")
  done
  go mod edit "${edit_args[@]}"
  # What hack/lib/version.sh would stamp, so /version reports the release rather than v0.0.0-master.
  local minor="${KUBERNETES_VERSION#v1.}"
  minor="${minor%%.*}"
  local version_pkg="k8s.io/component-base/version"
  local ldflags="-s -w -X ${version_pkg}.gitVersion=${KUBERNETES_VERSION} -X ${version_pkg}.gitMajor=1"
  ldflags+=" -X ${version_pkg}.gitMinor=${minor} -X ${version_pkg}.gitTreeState=clean"
  local command_name
  for command_name in "${KUBERNETES_COMMANDS[@]}"; do
    [[ -x "${bin_dir}/${command_name}" ]] && continue
    run_step "go build ${command_name} ${KUBERNETES_VERSION}" "${dir}/build-${command_name}.log" \
      go build -trimpath -ldflags="${ldflags}" -o "${bin_dir}/${command_name}.partial" "k8s.io/kubernetes/cmd/${command_name}"
    mv "${bin_dir}/${command_name}.partial" "${bin_dir}/${command_name}"
  done
}

build_etcd() {
  local dir="${work_root}/etcd-${ETCD_VERSION}"
  rm -rf "${dir}" && mkdir -p "${dir}"
  cd "${dir}"
  cat >main.go <<'EOF'
// Command etcd runs the upstream etcd server for the e2e control plane.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  run_step "go mod init (etcd)" "${dir}/init.log" go mod init local.test/etcd-build
  go mod edit -require "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  run_step "go build etcd ${ETCD_VERSION}" "${dir}/build.log" \
    go build -trimpath -ldflags="-s -w" -o "${bin_dir}/etcd.partial" .
  mv "${bin_dir}/etcd.partial" "${bin_dir}/etcd"
}

mkdir -p "${bin_dir}" "${work_root}"
started=${SECONDS}
[[ -x "${bin_dir}/etcd" ]] || build_etcd
[[ ${#missing[@]} -eq 1 && ${missing[0]} == etcd ]] || build_kubernetes # any command or pause.c
log "built in $((SECONDS - started))s"
print_result
