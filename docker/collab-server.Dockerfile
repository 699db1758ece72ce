# syntax=docker/dockerfile:1.7
# The Yjs collab-server (y-websocket protocol, Postgres persistence). Build context: the repository root.
#   docker build -f docker/collab-server.Dockerfile -t clipmaker/collab-server .
ARG NODE_VERSION=20.20

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

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/clipmaker
ENV NODE_ENV=production COLLAB_HOST=0.0.0.0 COLLAB_PORT=1234
# V8's young generation capped at 2 MiB per semi-space (Node's default grows it to 16 MiB, i.e. up to
# 32 MiB of RSS that stays after a burst): docs/OPERATIONS.md "Collab-server memory". Override with
# NODE_OPTIONS (compose: COLLAB_NODE_OPTIONS); the same default is in package.json's `collab` script.
ENV NODE_OPTIONS="--max-semi-space-size=2"
COPY --from=deps /src/package.json /src/pnpm-workspace.yaml ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=deps /src/collab-server/node_modules ./collab-server/node_modules
COPY --from=deps /src/drizzle/node_modules ./drizzle/node_modules
COPY --from=deps /src/shared/node_modules ./shared/node_modules
COPY collab-server/package.json collab-server/
COPY collab-server/src ./collab-server/src
COPY drizzle ./drizzle
COPY shared ./shared
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs
USER node
EXPOSE 1234
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "http", "http://127.0.0.1:1234/health"]
# node itself (tsx as an --import loader, not the tsx CLI that forks a child) receives SIGTERM from
# tini: every received update is stored and compacted, then it exits 0.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "collab-server/src/main.ts"]
