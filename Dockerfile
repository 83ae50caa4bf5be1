# The web-identity-webhook image: build and pack the package, install it with its production
# dependencies only, and run it on distroless Node (no shell, no package manager, user 65532).
#
#   docker build --build-arg VERSION="$(node -p 'require("./package.json").version')" -t web-identity-webhook .
#   docker run --rm web-identity-webhook --help
# (scripts/build-image.sh does the same with buildah.) VERSION, the package.json version, sets the image's
# version label; REVISION, the git commit, its revision label.

# Both stages on Debian 13 (trixie): distroless builds Node only on debian13, and a build stage of the same
# Debian keeps one release (one set of security fixes) under the whole image.
ARG NODE_IMAGE=node:26-trixie-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs26-debian13:nonroot

# Build: compile TypeScript and pack exactly what `npm publish` would ship (package.json "files").
# On the builder's own platform (--platform=$BUILDPLATFORM): what it makes is JavaScript, the same for every
# target, and npm runs no install scripts, so a multi-arch build needs no emulation. Builders that do not set
# BUILDPLATFORM (buildah without --platform) build for the host.
FROM --platform=${BUILDPLATFORM} ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
ARG VERSION=""
RUN packaged="$(node -p 'require("./package.json").version')" \
 && if [ -n "${VERSION}" ] && [ "${VERSION}" != "${packaged}" ]; then \
      echo "--build-arg VERSION=${VERSION}, but package.json says ${packaged}: pass the package.json version" >&2; exit 1; \
    fi \
 && npm run build \
 && mkdir /pkg \
 && npm pack --pack-destination /pkg \
 && mv /pkg/web-identity-webhook-*.tgz /pkg/web-identity-webhook.tgz

# Install: the packed package under /app/node_modules/web-identity-webhook with its production
# dependencies at the versions of package-lock.json (installing the tarball by name would resolve
# them afresh), so the image runs what CI tested. Also on the builder's platform: the dependencies are pure
# JavaScript, installed with --ignore-scripts. The runtime stage has no RUN step, so a target platform's
# runtime image is assembled without running anything of that platform.
FROM --platform=${BUILDPLATFORM} ${NODE_IMAGE} AS install
WORKDIR /app/node_modules/web-identity-webhook
COPY --from=build /pkg/web-identity-webhook.tgz /tmp/
RUN tar -xzf /tmp/web-identity-webhook.tgz --strip-components=1 \
 && rm /tmp/web-identity-webhook.tgz
COPY package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json \
 && npm cache clean --force

# Runtime. The chart's `helm test` pod runs /nodejs/bin/node -e in this image: keep node at that path.
FROM ${RUNTIME_IMAGE}
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="web-identity-webhook" \
      org.opencontainers.image.description="Kubernetes mutating admission webhook for AWS IAM roles through web identity (IRSA)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/web-identity-webhook/web-identity-webhook" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production
# COPY before WORKDIR: the base image's user is 65532, and a WORKDIR that creates /app makes it 65532's with
# some builders. Copied as root's, /app and everything under it is read-only to the webhook (test/image).
COPY --from=install --chown=0:0 /app /app
WORKDIR /app
USER 65532:65532
EXPOSE 8443 9999
# Node options, each measured on Node 26.10.0 (two runs of each of: none, either, both; the bench's own phases
# on a shared 2-core VM). `npm run bench` runs the webhook with the options of this line.
# --max-semi-space-size=4 (MiB): a smaller young generation (Node 26 grows it to 64 MiB, twice Node 20's; 8 MiB
#   with this), 154 -> 135 MiB resident at rest with 100,000 ServiceAccounts (128 with both flags), 145 -> 120 MiB
#   after load with 1,000; the same CPU per review (227-270 µs without, 228-262 with).
# --no-parallel-scavenge: young-generation collections on the main thread only. On two busy cores a parallel
#   scavenge waits for its helper threads: p99 at 2,000 reviews/s was lower with it in every comparison
#   (4-23 ms against 148-891 ms in the runs above; 103-130 against 142-232 ms in three pairs on a loaded
#   machine), at no more CPU per review (209-255 µs).
# --max-old-space-size=192 (MiB): a heap cap, so V8 collects before the pod's memory limit (320Mi in the chart)
#   instead of growing towards it. What is live is bounded by --max-bytes-in-flight (32 MiB): 500 reviews of
#   3 MB at a concurrency of 25 (test/reliability/overload.test.ts) ran to the end under a cap of 96 and
#   peaked at 171-233 MiB resident with 96, 128 or 192 (how fast the bodies arrive decides how many are
#   parsed at once); 227 MiB with the in-flight cap and no heap cap,
#   198 with the heap cap and no in-flight cap, 301 with neither. 192 adds room for 100,000 cached
#   ServiceAccounts (about 40 MiB more at rest).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--no-parallel-scavenge", "--max-old-space-size=192", "/app/node_modules/web-identity-webhook/dist/cli/main.js"]
CMD ["serve"]
