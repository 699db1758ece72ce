# syntax=docker/dockerfile:1.7
# The render-farm worker on a CUDA base. Build context: the repository root.
#   docker build -f docker/render-farm.Dockerfile -t clipmaker/render-farm .
#
# ffmpeg choice: Ubuntu 24.04's packaged ffmpeg (6.1, synced from Debian) is built with
# nv-codec-headers (h264_nvenc/hevc_nvenc, h264_cuvid, -hwaccel cuda) and clang's CUDA support
# (scale_cuda, overlay_cuda, hwupload_cuda), plus libass/libx264 for the CPU path. That avoids a
# 20-minute from-source build and keeps security updates coming from apt. The driver libraries
# (libcuda, libnvidia-encode, libnvcuvid) are not in any image: the NVIDIA container toolkit mounts
# them when the container asks for the `video` capability (docker/compose.gpu.yaml). The build
# fails right here if the packaged ffmpeg ever loses one of the features the worker uses. Without a
# GPU the same image renders on the CPU (RENDER_TARGET=auto falls back after its capability probe).
ARG NODE_VERSION=20.20
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04

FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM node AS deps
ENV CI=true PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm install -g pnpm@12.21.0
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY app/package.json app/
COPY shared/package.json shared/
COPY drizzle/package.json drizzle/
COPY collab-server/package.json collab-server/
COPY render-farm/package.json render-farm/
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm install --frozen-lockfile --store-dir /pnpm/store

FROM ${CUDA_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ffmpeg -hide_banner -encoders | grep -q h264_nvenc \
 && ffmpeg -hide_banner -decoders | grep -q h264_cuvid \
 && ffmpeg -hide_banner -filters | grep -q scale_cuda \
 && ffmpeg -hide_banner -filters | grep -q hwupload_cuda \
 && ffmpeg -hide_banner -filters | grep -q ' ass ' \
 && ffmpeg -hide_banner -encoders | grep -q libx264
# Node from the official image (glibc binaries run on Ubuntu 24.04's newer glibc).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node
WORKDIR /srv/clipmaker
ENV NODE_ENV=production DATA_DIR=/data STORAGE_DIR=/data/storage WORK_DIR=/tmp/clipmaker-work \
    NVIDIA_DRIVER_CAPABILITIES=compute,video,utility
COPY --from=deps /src/package.json /src/pnpm-workspace.yaml ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=deps /src/render-farm/node_modules ./render-farm/node_modules
COPY --from=deps /src/shared/node_modules ./shared/node_modules
COPY render-farm/package.json render-farm/
COPY render-farm/src ./render-farm/src
COPY shared ./shared
COPY docker/healthcheck.mjs docker/render-farm-entrypoint.sh ./docker/
RUN mkdir -p /data/storage /tmp/clipmaker-work && chown -R node:node /data /tmp/clipmaker-work
USER node
VOLUME ["/data"]
# Healthy while this worker beats (its heartbeat hash ${QUEUE_PREFIX}:workers:${WORKER_ID} has a recent lastSeen).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "worker"]
# SIGTERM (tini -> entrypoint exec -> node): the worker finishes its running job within
# STOP_TIMEOUT_MS or re-queues it, then exits 0. Give it that long in stop_grace_period.
ENTRYPOINT ["/usr/bin/tini", "--", "docker/render-farm-entrypoint.sh"]
CMD ["node", "--import", "tsx", "render-farm/src/main.ts"]
