#!/usr/bin/env bash
# Installs the Debian packages the image build, the release tests and the node suite need, as root:
#   buildah, podman, runc, skopeo       build, run and push the image without a Docker engine
#   mmdebstrap, openssl, ca-certificates assemble the stand-in base images (scripts/base-images.sh)
#   ShellCheck (package shellcheck)      checks scripts/*.sh and .ci/run (test/release/scripts.test.ts),
#                                        and lets actionlint check the release workflow's run: steps
#   gcc, libc6-dev                       compile the pod sandbox's pause (test/node/support/images.ts)
#   docker-registry                      a real OCI registry (distribution) for the release tests
#   containerd, containernetworking-plugins, iptables, conntrack, busybox-static, iproute2
#                                        the real node: container runtime, pod network, kube-proxy, test pods
# Packages already installed are not fetched again; `apt-get update` runs only when something is missing.
set -euo pipefail

PACKAGES=(
  buildah podman runc conmon netavark aardvark-dns skopeo uidmap
  mmdebstrap openssl ca-certificates curl shellcheck gcc libc6-dev
  docker-registry
  containerd containernetworking-plugins iptables conntrack busybox-static iproute2 util-linux
)

log() { printf 'install-system-packages: %s\n' "$*" >&2; }

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q 'install ok installed' || missing+=("${package}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} packages present"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { log "error: missing ${missing[*]}; run as root (apt-get install)"; exit 1; }
log "installing ${missing[*]}"
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
