# syntax=docker/dockerfile:1.7
# The SvelteKit app (adapter-node) and the one-shot `migrate` job. Build context: the repository root.
#   docker build -f docker/app.Dockerfile -t clipmaker/app .
ARG NODE_VERSION=20.20

# --- deps: the workspace's node_modules from the lockfile only (cached until a manifest changes) ----
FROM node:${NODE_VERSION}-bookworm-slim AS deps
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

# --- build: the SvelteKit server bundle (app/build) ----------------------------------------------------
FROM deps AS build
COPY . .
RUN pnpm --filter @clipmaker/app build

# --- runtime ---------------------------------------------------------------------------------------
# ffprobe sniffs every upload (the name and Content-Type are never trusted); /api/health checks ffmpeg.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/clipmaker
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data STORAGE_DIR=/data/storage
COPY --from=build /src/package.json /src/pnpm-workspace.yaml ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/app/package.json ./app/package.json
COPY --from=build /src/app/node_modules ./app/node_modules
COPY --from=build /src/app/build ./app/build
# drizzle/ + shared/ (TypeScript run by tsx) for the `migrate` service.
COPY --from=build /src/drizzle ./drizzle
COPY --from=build /src/shared ./shared
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs
RUN mkdir -p /data/storage && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "http", "http://127.0.0.1:3000/api/health"]
# tini forwards SIGTERM to node, which is PID 2 (no pnpm/npm wrapper that would swallow it):
# adapter-node stops accepting, drains in-flight requests (SHUTDOWN_TIMEOUT) and exits.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "app/build"]
