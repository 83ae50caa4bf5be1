#!/usr/bin/env bash
# The node suite: runs test/node/*.test.ts inside a network namespace of its own, in which each test file
# starts a one-node cluster (etcd, kube-apiserver, containerd, kubelet, controllers, kube-proxy) and a
# registry on the node's address. This script owns only that namespace: it creates it with a veth pair
# that gives the node a non-loopback address (kubelet refuses loopback), runs the test runner in it, and
# deletes it afterwards, on success and on failure. Whatever the tests start, they stop themselves.
#
# Usage: scripts/node-suite.sh [TEST_FILE...]   (default: every test/node/*.test.ts)
#   Normally through `npm run test:node`, which builds dist/ and the image first.
#   stdout: the node:test runner's report. stderr: progress. Exit status: the runner's, or 1 when a
#   process is still in the namespace after the tests (it is killed and named) or the namespace cannot be
#   deleted.
# Needs: root, iproute2, util-linux (nsenter, flock), and what scripts/install-system-packages.sh installs.
# One node suite runs at a time on a machine (kubelet and containerd share /run/containerd and the
# cgroup hierarchy): a second one waits for the first.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The node's address inside the namespace, and the gateway its default route names (nothing answers
# there: no packet leaves the namespace, both ends of the veth pair are in it).
NODE_IP="172.30.0.2"
GATEWAY_IP="172.30.0.1"
netns="wiw-node-$$"
lock_file="/run/lock/web-identity-webhook-node-suite.lock"

log() { printf 'node-suite: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "the node suite runs a kubelet and containerd: run it as root"
for tool in ip nsenter flock; do
  command -v "${tool}" >/dev/null 2>&1 || fail "${tool} is missing: run scripts/install-system-packages.sh"
done
node_bin="${repo_root}/node_modules/.bin/node"
[[ -x "${node_bin}" ]] || fail "${node_bin} is missing: run npm ci"

if [[ $# -gt 0 ]]; then
  test_files=("$@")
else
  shopt -s nullglob
  test_files=("${repo_root}"/test/node/*.test.ts)
  shopt -u nullglob
  [[ ${#test_files[@]} -gt 0 ]] || fail "no test files in ${repo_root}/test/node"
fi

mkdir -p "$(dirname "${lock_file}")"
exec 9>"${lock_file}"
if ! flock -n 9; then
  log "another node suite holds ${lock_file}; waiting up to 15 min"
  flock -w 900 9 || fail "another node suite still holds ${lock_file} after 15 min"
fi

# Build (or find) what every test file needs before the namespace exists, so a missing binary fails here.
bash "${repo_root}/scripts/build-cluster.sh" >/dev/null
bash "${repo_root}/scripts/install-helm.sh" >/dev/null
bash "${repo_root}/scripts/build-tools.sh" minio >/dev/null
# The SDK app image of test/node/sts.test.ts: its npm step needs the npm registry, which the namespace cannot reach.
"${node_bin}" --import tsx "${repo_root}/test/node/support/sdk-image.ts" >/dev/null

# Ends what is left in the namespace (by PID: only processes in it, which this suite started), then deletes it.
# shellcheck disable=SC2317  # run by the EXIT trap
remove_netns() {
  local status=$? leftover
  [[ -e "/run/netns/${netns}" ]] || exit "${status}"
  leftover="$(ip netns pids "${netns}" 2>/dev/null || true)"
  if [[ -n "${leftover}" ]]; then
    log "error: processes still in ${netns} after the tests (killing them):"
    ps -o pid=,args= -p "$(tr '\n' ',' <<<"${leftover}" | sed 's/,$//')" >&2 || true
    # shellcheck disable=SC2086
    kill -9 ${leftover} 2>/dev/null || true
    status=1
  fi
  if ! ip netns delete "${netns}"; then
    log "error: could not delete network namespace ${netns}"
    status=1
  elif [[ -e "/run/netns/${netns}" ]]; then
    log "error: network namespace ${netns} is still there after ip netns delete"
    status=1
  else
    log "deleted network namespace ${netns}"
  fi
  exit "${status}"
}
trap remove_netns EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "${netns}"
ip -n "${netns}" link set lo up
# No "dummy" link type in this kernel: a veth pair kept inside the namespace gives the node its address.
ip -n "${netns}" link add eth0 type veth peer name eth0peer
ip -n "${netns}" addr add "${NODE_IP}/24" dev eth0
ip -n "${netns}" link set eth0peer up
ip -n "${netns}" link set eth0 up
ip -n "${netns}" route add default via "${GATEWAY_IP}" dev eth0 onlink
# `ip netns exec` would remount /sys and hide the cgroups the kubelet needs: nsenter enters the network only.
nsenter --net="/run/netns/${netns}" sysctl -qw net.ipv4.ip_forward=1
# A pod reaching a ClusterIP whose endpoint is on the same bridge goes through kube-proxy's rules only with this.
nsenter --net="/run/netns/${netns}" sysctl -qw net.bridge.bridge-nf-call-iptables=1
log "network namespace ${netns}: node address ${NODE_IP}"

started=${SECONDS}
status=0
cd "${repo_root}"
nsenter --net="/run/netns/${netns}" env WIW_NODE_NETNS="${netns}" WIW_NODE_IP="${NODE_IP}" \
  "${node_bin}" --import tsx --test --test-concurrency=1 "${test_files[@]}" || status=$?
log "test runner exited ${status} after $((SECONDS - started)) s"
exit "${status}"
