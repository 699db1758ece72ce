#!/usr/bin/env bash
# Validates docker/compose.yaml alone and with the GPU override (docker/compose.gpu.yaml), without a
# Docker engine: `docker compose config` (v2) when available, else docker-compose 1.29 (Debian's
# `apt-get install docker-compose`). Placeholder secrets stand in for the required variables; a
# missing secret must make the check fail, which is verified too.
set -euo pipefail
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "check-compose: neither 'docker compose' nor 'docker-compose' is installed (apt-get install docker-compose)" >&2
  exit 2
fi

secrets=(POSTGRES_PASSWORD=check-only-password COLLAB_SECRET=check-only-collab-secret SIGNING_SECRET=check-only-signing-secret)

env "${secrets[@]}" "${compose[@]}" -f docker/compose.yaml config --quiet
env "${secrets[@]}" "${compose[@]}" -f docker/compose.yaml -f docker/compose.gpu.yaml config --quiet

if env -u POSTGRES_PASSWORD -u COLLAB_SECRET -u SIGNING_SECRET "${compose[@]}" -f docker/compose.yaml config --quiet >/dev/null 2>&1; then
  echo "check-compose: docker/compose.yaml accepted missing secrets" >&2
  exit 1
fi
echo "check-compose: docker/compose.yaml and docker/compose.gpu.yaml are valid (${compose[*]})"
