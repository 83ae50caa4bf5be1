# shellcheck shell=bash
# Sourced by the build scripts: sets cache_root, where binaries built from Go modules and downloaded
# toolchains are kept, keyed by version in their own sub-folders. It is outside the clone
# (~/.cache/web-identity-webhook unless WEB_IDENTITY_WEBHOOK_CACHE says otherwise), so every clone on a
# machine, CI's fresh one included, pays for a build only once.
cache_root="${WEB_IDENTITY_WEBHOOK_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/web-identity-webhook}"
mkdir -p "${cache_root}"
