#!/bin/sh
# WORKER_ID defaults to the container's hostname so that the health check (docker/healthcheck.mjs
# worker) can find this worker's heartbeat key; replicas get distinct hostnames. exec: node receives
# the signals directly.
set -eu
export WORKER_ID="${WORKER_ID:-$(hostname)}"
exec "$@"
