# shellcheck shell=bash
# Sourced by the scripts that use buildah, podman or skopeo: container storage and settings of the
# project's own under $cache_root/containers, so the host's own images and settings are never touched,
# and the two settings this kind of machine needs (see the comments in the generated containers.conf).
# After sourcing, CONTAINERS_STORAGE_CONF and CONTAINERS_CONF are exported.
# shellcheck source=scripts/cache-dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache-dir.sh"
containers_root="${cache_root}/containers"
mkdir -p "${containers_root}"
cat >"${containers_root}/storage.conf" <<STORAGE
[storage]
driver = "overlay"
graphroot = "${containers_root}/graph"
runroot = "${containers_root}/run"
STORAGE
nofile_limit="$(ulimit -Hn)"
[[ "${nofile_limit}" == unlimited ]] && nofile_limit=1048576
cat >"${containers_root}/containers.conf" <<CONF
[containers]
# Without CAP_SYS_RESOURCE rlimits cannot be raised: podman's rootful defaults (nofile/nproc 1048576) fail
# with "setrlimit RLIMIT_NOFILE: Operation not permitted". podman lowers its own RLIMIT_NPROC to 32768 at
# start, so nproc may not exceed that; nofile is this host's hard limit.
default_ulimits = ["nofile=${nofile_limit}:${nofile_limit}", "nproc=32768:32768"]

[engine]
# crun 1.8 refuses cgroup v1 "hybrid" hosts ("cgroups in hybrid mode not supported"); runc works.
runtime = "runc"
CONF
export CONTAINERS_STORAGE_CONF="${containers_root}/storage.conf"
export CONTAINERS_CONF="${containers_root}/containers.conf"
