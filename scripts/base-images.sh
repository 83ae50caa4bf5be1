#!/usr/bin/env bash
# Assembles, without any container registry, local stand-ins for the two images the Dockerfile's FROM lines
# name, in the project's container storage (scripts/containers-env.sh), under exactly those names. Both are
# Debian 13 (trixie), as the published images are:
#   NODE_IMAGE     (docker.io/library/node:<major>-trixie-slim)
#                  Debian trixie (mmdebstrap, minbase) + node and npm under /usr/local, user node (1000)
#   RUNTIME_IMAGE  (gcr.io/distroless/nodejs<major>-debian13:nonroot)
#                  trixie's libc6, libgcc-s1, libstdc++6, libatomic1, gcc-14-base, ca-certificates, tzdata, netbase
#                  and base-files unpacked (no maintainer scripts, so no shell and no package manager)
#                  + /nodejs/bin/node, USER 65532
# Both carry org.opencontainers.image.description "local stand-in for NAME ..." and the label
# io.github.web-identity-webhook.stand-in-for=NAME (inherited by images built on them, so they say so too).
#
# The image names are the Dockerfile's ARG defaults; the Node version is package.json's devDependencies.node
# (the runtime npm scripts use), the npm version the one that Node release bundles (its CHANGELOG.md). Node
# and npm come from the npm registry (node-linux-<arch> is the nodejs.org binary). The Debian packages come from
# trixie, trixie-updates and trixie-security on deb.debian.org, whatever the host runs: mmdebstrap is given
# those sources, and the runtime's packages are fetched by an apt of this script's own (its sources, lists and
# state under $cache_root/base-images/apt-trixie; the host's apt sources are never read or changed), verified
# with the host's debian-archive-keyring. Downloads are cached in $cache_root/base-images/downloads. A stand-in
# whose labels show the same Node version and the same revision of this script is kept, so a second run does
# nothing; an image of that name that is no stand-in (pulled from its registry) is kept as well: the published
# image is always preferred.
#
# Usage: scripts/base-images.sh [--names]   (as root: mmdebstrap --mode=root and the overlay storage need it)
#   Progress goes to stderr; stdout has the two image names, NODE_IMAGE then RUNTIME_IMAGE.
#   --names: only print the names (what scripts/build-image.sh checks for), make nothing.
set -euo pipefail

repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/containers-env.sh
source "${repository}/scripts/containers-env.sh"

log() { printf 'base-images: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# dockerfile_arg NAME: the default of `ARG NAME=...` in the Dockerfile.
dockerfile_arg() {
  local value
  value="$(sed -n "s/^ARG $1=\\(.*\\)\$/\\1/p" "${repository}/Dockerfile" | head -n 1)"
  [[ -n "${value}" ]] || fail "Dockerfile: no default for ARG $1 (expected a line 'ARG $1=IMAGE')"
  printf '%s\n' "${value}"
}

# qualified NAME: NAME as the storage keeps it (a short Docker Hub name gets docker.io/library/).
qualified() {
  local name="$1" first="${1%%/*}"
  if [[ "${name}" != */* ]]; then
    name="docker.io/library/${name}"
  elif [[ "${first}" != *.* && "${first}" != *:* && "${first}" != localhost ]]; then
    name="docker.io/${name}"
  fi
  printf '%s\n' "${name}"
}

node_version="$(node -p 'require(process.argv[1]).devDependencies?.node ?? ""' "${repository}/package.json")"
[[ "${node_version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  fail "package.json devDependencies.node is '${node_version}': pin an exact release (e.g. 26.10.0), the one the image runs"
node_major="${node_version%%.*}"
# The Debian release of both images (node's -trixie-slim, distroless's -debian13).
debian_suite=trixie
debian_release=13
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
debian_sources=(
  "deb http://deb.debian.org/debian ${debian_suite} main"
  "deb http://deb.debian.org/debian ${debian_suite}-updates main"
  "deb http://deb.debian.org/debian-security ${debian_suite}-security main"
)

node_image="$(qualified "$(dockerfile_arg NODE_IMAGE)")"
runtime_image="$(qualified "$(dockerfile_arg RUNTIME_IMAGE)")"
[[ "${node_image}" == "docker.io/library/node:${node_major}-${debian_suite}-slim" ]] ||
  fail "Dockerfile NODE_IMAGE is ${node_image}, but package.json pins Node ${node_version} and the stand-ins are Debian ${debian_release}: set ARG NODE_IMAGE=node:${node_major}-${debian_suite}-slim"
[[ "${runtime_image}" == "gcr.io/distroless/nodejs${node_major}-debian${debian_release}:nonroot" ]] ||
  fail "Dockerfile RUNTIME_IMAGE is ${runtime_image}, but package.json pins Node ${node_version} and the stand-ins are Debian ${debian_release}: set ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs${node_major}-debian${debian_release}:nonroot"

case "${1:-}" in
  --names)
    printf '%s\n' "${node_image}" "${runtime_image}"
    exit 0
    ;;
  "") ;;
  *) fail "unknown argument '$1' (usage: scripts/base-images.sh [--names])" ;;
esac

[[ $(id -u) -eq 0 ]] || fail "run as root (mmdebstrap --mode=root, chroot and the overlay storage need it)"
for tool in podman mmdebstrap apt-get dpkg-deb npm; do
  command -v "${tool}" >/dev/null || fail "${tool} is not installed: run scripts/install-system-packages.sh"
done
[[ -r "${debian_keyring}" ]] ||
  fail "${debian_keyring} is missing: install debian-archive-keyring (it holds the Debian ${debian_release} keys that sign ${debian_suite})"

case "$(dpkg --print-architecture)" in
  amd64) node_arch=x64 ;;
  arm64) node_arch=arm64 ;;
  *) fail "no node-linux-* package for Debian architecture $(dpkg --print-architecture) (amd64 and arm64 are known)" ;;
esac

# The revision of this script: a stand-in made by another revision is made again.
recipe="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
label_prefix="io.github.web-identity-webhook"
base_dir="${cache_root}/base-images"
downloads="${base_dir}/downloads"
mkdir -p "${downloads}"

# stand_in_state NAME: "absent", "published" (a pulled image, not a stand-in: kept), "current" (a stand-in made
# by this script revision for this Node version: kept) or "stale" (another stand-in: made again).
stand_in_state() {
  local labels
  labels="$(podman image inspect --format '{{index .Labels "'"${label_prefix}"'.stand-in-for"}} {{index .Labels "org.opencontainers.image.version"}} {{index .Labels "'"${label_prefix}"'.stand-in-recipe"}}' \
    "$1" 2>/dev/null)" || { echo absent; return; }
  if [[ "${labels}" == " "* ]]; then
    echo published
  elif [[ "${labels}" == "$1 ${node_version} ${recipe}" ]]; then
    echo current
  else
    echo stale
  fi
}

# npm_download PACKAGE@VERSION: the cached tarball of that package, fetched with `npm pack` (which checks the
# registry's integrity hash) the first time.
npm_download() {
  local spec="$1" name="${1%@*}" version="${1##*@}" file partial
  file="${downloads}/${name}-${version}.tgz"
  if [[ ! -s "${file}" ]]; then
    log "downloading ${spec} from the npm registry"
    partial="$(mktemp -d "${downloads}/.partial.XXXXXX")"
    npm pack --silent --pack-destination "${partial}" "${spec}" >/dev/null
    mv "${partial}/${name}-${version}.tgz" "${file}"
    rmdir "${partial}"
  fi
  printf '%s\n' "${file}"
}

# bundled_npm NODE_TARBALL: the npm version that Node release ships, the first "upgrade npm to X" at or
# below its own section of CHANGELOG.md (newest first).
bundled_npm() {
  local version
  version="$(tar -xzOf "$1" package/CHANGELOG.md | awk -v anchor="<a id=\"${node_version}\"></a>" '
    index($0, anchor) { found = 1 }
    found && match($0, /(upgrade|update) npm to [0-9]+\.[0-9]+\.[0-9]+/) {
      text = substr($0, RSTART, RLENGTH); sub(/.* /, "", text); print text; exit
    }')"
  [[ -n "${version}" ]] || fail "$1: CHANGELOG.md names no npm upgrade at or before Node ${node_version}"
  printf '%s\n' "${version}"
}

work=""
cleanup() { [[ -z "${work}" ]] || rm -rf "${work}"; }
trap cleanup EXIT

# stand_in_changes NAME: the --change options every stand-in carries.
stand_in_changes() {
  printf '%s\n' \
    "--change=LABEL org.opencontainers.image.description=\"local stand-in for $1, assembled by scripts/base-images.sh without a registry\"" \
    "--change=LABEL org.opencontainers.image.version=${node_version}" \
    "--change=LABEL ${label_prefix}.stand-in-for=$1" \
    "--change=LABEL ${label_prefix}.stand-in-recipe=${recipe}"
}

make_node_image() {
  local node_tgz npm_version npm_tgz rootfs_tar started=${SECONDS}
  node_tgz="$(npm_download "node-linux-${node_arch}@${node_version}")"
  npm_version="$(bundled_npm "${node_tgz}")"
  npm_tgz="$(npm_download "npm@${npm_version}")"
  log "assembling ${node_image}: Debian ${debian_suite} (minbase) + Node ${node_version} + npm ${npm_version}"
  rootfs_tar="${work}/node.tar"
  # As in the official image: node, headers and docs under /usr/local, npm beside it, a user node (1000), and
  # libatomic1, which node 26 links against.
  # NODE_EXTRA_CA_CERTS of the host names a file the chroot does not have.
  local hook_env="env -u NODE_EXTRA_CA_CERTS chroot \"\$1\""
  mmdebstrap --variant=minbase --mode=root --format=tar --skip=output/dev --quiet --include=libatomic1 \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="tar -xzf '${node_tgz}' -C \"\$1/usr/local\" --strip-components=1 --no-same-owner package/bin/node package/include package/share" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '${npm_tgz}' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 --no-same-owner" \
    --customize-hook="ln -sf ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
    --customize-hook="chroot \"\$1\" groupadd --gid 1000 node && chroot \"\$1\" useradd --uid 1000 --gid node --shell /bin/bash --create-home node" \
    --customize-hook="test \"\$(${hook_env} node --version)\" = v${node_version} && test \"\$(${hook_env} npm --version)\" = ${npm_version}" \
    --keyring="${debian_keyring}" \
    "${debian_suite}" "${rootfs_tar}" "${debian_sources[@]}" >&2
  local changes
  mapfile -t changes < <(stand_in_changes "${node_image}")
  podman import --quiet "${changes[@]}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version}" \
    --change 'CMD ["node"]' \
    "${rootfs_tar}" "${node_image}" >/dev/null
  rm -f "${rootfs_tar}"
  log "${node_image} made in $((SECONDS - started)) s"
}

# What distroless's nodejs image holds, from Debian's own packages (unpacked, no maintainer scripts run).
# base-files first: it makes /bin, /lib and /lib64 the links to /usr that the others' files go through.
runtime_packages=(base-files libc6 libgcc-s1 libstdc++6 libatomic1 gcc-14-base ca-certificates tzdata netbase)

# debian_apt TOOL ARGS...: apt-get or apt-cache on an apt of this script's own, whose only sources are
# debian_sources: its lists and state live in apt_dir, and the host's sources and state are never read.
apt_dir="${base_dir}/apt-${debian_suite}"
debian_apt() {
  mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache/archives/partial" "${apt_dir}/sources.list.d" \
    "${apt_dir}/preferences.d"
  [[ -f "${apt_dir}/status" ]] || : >"${apt_dir}/status"
  local source
  for source in "${debian_sources[@]}"; do
    printf '%s\n' "${source/#deb /deb [signed-by=${debian_keyring}] }"
  done >"${apt_dir}/sources.list"
  cat >"${apt_dir}/apt.conf" <<APT
Dir::State "${apt_dir}";
Dir::State::Lists "${apt_dir}/lists";
Dir::State::status "${apt_dir}/status";
Dir::Cache "${apt_dir}/cache";
Dir::Etc::SourceList "${apt_dir}/sources.list";
Dir::Etc::SourceParts "${apt_dir}/sources.list.d";
Dir::Etc::Preferences "${apt_dir}/preferences";
Dir::Etc::PreferencesParts "${apt_dir}/preferences.d";
APT::Sandbox::User "root";
APT
  APT_CONFIG="${apt_dir}/apt.conf" "$@"
}

make_runtime_image() {
  local node_tgz rootfs="${work}/runtime" debs="${downloads}/debs-${debian_suite}" started=${SECONDS}
  node_tgz="$(npm_download "node-linux-${node_arch}@${node_version}")"
  log "assembling ${runtime_image}: ${runtime_packages[*]} (Debian ${debian_suite}) + /nodejs/bin/node ${node_version}"
  mkdir -p "${debs}" "${rootfs}"
  debian_apt apt-get update -q >&2
  # apt-get download keeps the name package_version_arch.deb: a cached file is the version apt would fetch.
  local package file candidate
  for package in "${runtime_packages[@]}"; do
    candidate="$(debian_apt apt-cache policy "${package}" | sed -n 's/^ *Candidate: //p')"
    [[ -n "${candidate}" && "${candidate}" != "(none)" ]] ||
      fail "Debian ${debian_suite} has no ${package} (apt-cache policy, sources ${apt_dir}/sources.list): is the package list of this script still right for ${debian_suite}?"
    file="$(compgen -G "${debs}/${package}_${candidate//:/%3a}_*.deb" || true)"
    [[ -n "${file}" ]] || (cd "${debs}" && debian_apt apt-get download -q "${package}" >&2)
    file="$(compgen -G "${debs}/${package}_${candidate//:/%3a}_*.deb")" ||
      fail "apt-get download ${package} left no ${package}_${candidate}_*.deb in ${debs}"
    dpkg-deb -x "${file}" "${rootfs}"
  done
  # What ca-certificates' and tzdata's maintainer scripts (shell scripts) would have written.
  mkdir -p "${rootfs}/etc/ssl/certs"
  find "${rootfs}/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat >"${rootfs}/etc/ssl/certs/ca-certificates.crt"
  ln -sf /usr/share/zoneinfo/Etc/UTC "${rootfs}/etc/localtime"
  echo Etc/UTC >"${rootfs}/etc/timezone"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"${rootfs}/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"${rootfs}/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' 'networks: files' \
    'protocols: files' 'services: files' >"${rootfs}/etc/nsswitch.conf"
  mkdir -p "${rootfs}/tmp" "${rootfs}/root" "${rootfs}/home/nonroot" "${rootfs}/nodejs/bin"
  chmod 1777 "${rootfs}/tmp"
  chmod 700 "${rootfs}/root" "${rootfs}/home/nonroot"
  chown 65532:65532 "${rootfs}/home/nonroot"
  tar -xzOf "${node_tgz}" package/bin/node >"${rootfs}/nodejs/bin/node"
  chmod 755 "${rootfs}/nodejs/bin/node"
  tar -xzOf "${node_tgz}" package/LICENSE >"${rootfs}/nodejs/LICENSE"
  # update-ca-certificates is a /bin/sh script, and there is no shell.
  rm -f "${rootfs}/usr/sbin/update-ca-certificates"
  rm -rf "${rootfs}/usr/share/doc" "${rootfs}/usr/share/man" "${rootfs}/usr/share/info" "${rootfs}/usr/share/lintian"
  local version
  version="$(env -u NODE_EXTRA_CA_CERTS chroot "${rootfs}" /nodejs/bin/node --version)"
  [[ "${version}" == "v${node_version}" ]] || fail "${rootfs}/nodejs/bin/node runs as ${version}, expected v${node_version}"
  tar -C "${rootfs}" --numeric-owner -cf "${work}/runtime.tar" .
  rm -rf "${rootfs}"
  local changes
  mapfile -t changes < <(stand_in_changes "${runtime_image}")
  podman import --quiet "${changes[@]}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'USER 65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENTRYPOINT ["/nodejs/bin/node"]' \
    "${work}/runtime.tar" "${runtime_image}" >/dev/null
  rm -f "${work}/runtime.tar"
  log "${runtime_image} made in $((SECONDS - started)) s"
}

for image in "${node_image}" "${runtime_image}"; do
  state="$(stand_in_state "${image}")"
  case "${state}" in
    published)
      log "${image}: present and not a stand-in (pulled): kept"
      continue
      ;;
    current)
      log "${image}: stand-in present (Node ${node_version}, recipe ${recipe})"
      continue
      ;;
  esac
  previous=""
  if [[ "${state}" == stale ]]; then
    previous="$(podman image inspect --format '{{.Id}}' "${image}")"
    log "${image}: replacing a stand-in made by another revision or for another Node version"
  fi
  [[ -n "${work}" ]] || work="$(mktemp -d "${base_dir}/work.XXXXXX")"
  if [[ "${image}" == "${node_image}" ]]; then make_node_image; else make_runtime_image; fi
  # The replaced stand-in, untagged now, is removed unless an image built on it still needs it.
  [[ -z "${previous}" ]] || podman rmi "${previous}" >/dev/null 2>&1 || true
done
printf '%s\n' "${node_image}" "${runtime_image}"
