# The tool as a container image: runs `build`, `cut-image`, `boot-test`, … where only a Docker Engine is
# installed. Needs the engine's socket and a work folder mounted, nothing more: no --privileged, no added
# capabilities (see "Run it as a container" in README.md).
#
# BASE is Debian 12 with Node.js 20 in /usr/local. Users take the official slim image (the default); this
# project's CI, which reaches no container registry, builds an equivalent base with mmdebstrap and
# `docker import` (scripts/tool-image does both steps).
ARG BASE=node:20-bookworm-slim

# ---- build: the native addon (node-gyp) and the TypeScript ------------------------------------------------
FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 pkg-config \
      libsquashfs-dev libext2fs-dev libdeflate-dev libzstd-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# node-gyp takes the headers of the Node.js it runs on (no download): both bases keep them beside the binary.
RUN npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")" npm ci --no-audit --no-fund
COPY binding.gyp tsconfig.json ./
COPY native native
COPY src src
RUN npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")" npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: Node.js, the built tool and every system tool its commands run ------------------------------
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
# build: mmdebstrap (fakechroot mode needs no privilege), ansible with the docker connection (docker CLI);
# tini: PID 1 (below); cut-image: xorriso, grub, mtools, dosfstools, e2fsprogs, xfsprogs, fdisk, qemu-img; boot-test: qemu + OVMF.
# docker.io is the only Debian 12 package with the docker CLI; its daemon is never started here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates mmdebstrap fakechroot fakeroot ansible docker.io \
      xorriso grub-common grub-pc-bin grub-efi-amd64-bin mtools dosfstools e2fsprogs xfsprogs fdisk \
      qemu-utils qemu-system-x86 ovmf \
      libsquashfs1 libext2fs2 libdeflate0 libzstd1 tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
WORKDIR /opt/image-builder
COPY --from=build /src/package.json /src/binding.gyp ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/build/Release/airship_native.node build/Release/airship_native.node
COPY playbooks playbooks
COPY defaults defaults
RUN printf '#!/bin/sh\nexec node /opt/image-builder/dist/src/cli/main.js "$@"\n' >/usr/local/bin/image-builder \
 && chmod 755 /usr/local/bin/image-builder \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/builder builder \
 && chmod 1777 /home/builder
# Any uid may run the image (`--user "$(id -u):$(id -g)"` so outputs belong to the caller): HOME stays
# writable for ansible's local temp folder and mmdebstrap's temp files, and USER/LOGNAME name a user for
# tools that would otherwise look the uid up in /etc/passwd.
ENV HOME=/home/builder \
    USER=builder \
    LOGNAME=builder
USER builder
WORKDIR /work
# Last, so that a new revision rebuilds no layer above.
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="airship-image-builder" \
      org.opencontainers.image.description="Builds Airship ephemeral ISOs and QCOW2s from a Docker image configured by Ansible" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# tini as PID 1: fakeroot's faked daemonizes, and its zombie, reparented to a PID 1 that never reaps it (Node),
# answers fakeroot's "kill -TERM until gone" loop for ever: the cut's tar extraction hung there.
ENTRYPOINT ["/usr/bin/tini", "--", "image-builder"]
CMD ["--help"]
