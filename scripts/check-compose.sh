#!/usr/bin/env bash
# Validates docker/compose.yaml alone and with the GPU and MinIO overrides (docker/compose.gpu.yaml,
# docker/compose.minio.yaml), checks that the S3_* variables reach the app and the workers, without a
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
env "${secrets[@]}" "${compose[@]}" -f docker/compose.yaml --profile monitoring config --quiet
env "${secrets[@]}" MINIO_ROOT_USER=check-only-minio MINIO_ROOT_PASSWORD=check-only-minio-password "${compose[@]}" -f docker/compose.yaml -f docker/compose.minio.yaml config --quiet

# The S3_* settings reach both services that touch storage (the app and the workers).
for service in app render-farm; do
  wired=$(env "${secrets[@]}" S3_BUCKET=check-only-bucket S3_ENDPOINT=https://storage.yandexcloud.net S3_REGION=ru-central1 S3_ACCESS_KEY_ID=check-only-key S3_SECRET_ACCESS_KEY=check-only-secret S3_KEY_PREFIX=check/prefix \
    "${compose[@]}" -f docker/compose.yaml config | python3 -c '
import sys, yaml
env = yaml.safe_load(sys.stdin)["services"][sys.argv[1]]["environment"]
want = {"S3_BUCKET": "check-only-bucket", "S3_ENDPOINT": "https://storage.yandexcloud.net", "S3_REGION": "ru-central1", "S3_ACCESS_KEY_ID": "check-only-key", "S3_SECRET_ACCESS_KEY": "check-only-secret", "S3_KEY_PREFIX": "check/prefix"}
missing = [k for k, v in want.items() if env.get(k) != v]
print(",".join(missing))
' "$service")
  if [ -n "$wired" ]; then
    echo "check-compose: $service does not get $wired from the environment" >&2
    exit 1
  fi
done

# At least two collab-server replicas, both on Redis (fan-out), behind the balancer that publishes the port.
replicas=$(env "${secrets[@]}" "${compose[@]}" -f docker/compose.yaml config | python3 -c '
import sys, yaml
svc = yaml.safe_load(sys.stdin)["services"]
collab = [n for n, s in svc.items() if "collab-server" in str(s.get("image", ""))]
ok = len(collab) >= 2 and all(svc[n]["environment"].get("REDIS_URL") for n in collab) and not any(svc[n].get("ports") for n in collab) and svc.get("collab-lb", {}).get("ports")
print(len(collab) if ok else 0)
')
if [ "$replicas" -lt 2 ]; then
  echo "check-compose: docker/compose.yaml must run >= 2 collab-server replicas on Redis behind collab-lb" >&2
  exit 1
fi

if env -u POSTGRES_PASSWORD -u COLLAB_SECRET -u SIGNING_SECRET "${compose[@]}" -f docker/compose.yaml config --quiet >/dev/null 2>&1; then
  echo "check-compose: docker/compose.yaml accepted missing secrets" >&2
  exit 1
fi
echo "check-compose: docker/compose.yaml, compose.gpu.yaml and compose.minio.yaml are valid, S3_* reach app and render-farm, $replicas collab replicas behind collab-lb (${compose[*]})"
