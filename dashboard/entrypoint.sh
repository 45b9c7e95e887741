#!/bin/sh
# The image's entry point: the first argument picks the role, anything else runs as given
# (e.g. `docker compose run --rm web python manage.py createsuperuser`).
#
#   web        uvicorn (ASGI: live screens and the webhook fast path); PORT, WEB_WORKERS
#   worker     a Celery worker; WORKER_CONCURRENCY
#   beat       Celery beat (run exactly one)
#   migrate    apply database migrations, then exit
#   simulator  the RentEngine simulator (demo only); SIMULATOR_PORT, extra arguments passed on
#   health R   the container health check of role R (web, worker, beat, simulator)
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift
log_level="${LOG_LEVEL:-INFO}"
# Where a worker writes its Celery node name, so that its health check pings exactly itself.
node_file=/tmp/celery-worker-node

case "$role" in
  web)
    # uvicorn's processes share their request metrics through this folder (dashboard/metrics.py).
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus}"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    # --no-access-log: the reverse proxy in front logs requests. --proxy-headers trusts
    # X-Forwarded-For/-Proto only from FORWARDED_ALLOW_IPS.
    exec python -m uvicorn dashboard.asgi:application --host 0.0.0.0 --port "${PORT:-8000}" \
      --workers "${WEB_WORKERS:-2}" --lifespan off --no-access-log --timeout-graceful-shutdown 10 \
      --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" "$@"
    ;;
  worker)
    # A node name unique per container even when replicas share a host name (host networking):
    # the host name plus a random suffix.
    node="worker-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')@$(cat /proc/sys/kernel/hostname)"
    echo "$node" > "$node_file"
    exec celery -A dashboard worker -l "$log_level" -n "$node" --concurrency "${WORKER_CONCURRENCY:-3}" \
      --without-gossip --without-mingle "$@"
    ;;
  beat)
    exec celery -A dashboard beat -l "$log_level" -s "$LEASING_VAR_DIR/celerybeat-schedule" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  simulator)
    exec python manage.py rentengine_simulator --host "${SIMULATOR_HOST:-0.0.0.0}" \
      --port "${SIMULATOR_PORT:-8765}" "$@"
    ;;
  health)
    case "${1:-}" in
      web)
        # /healthz (database and Redis reachable) with a Host header Django accepts.
        exec python - <<'PY'
import os, sys, urllib.request
hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
request = urllib.request.Request(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=5) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception as exc:
    print(f"/healthz: {exc}")
    sys.exit(1)
PY
        ;;
      worker)
        # This worker answers a Celery ping through the broker.
        exec celery -A dashboard inspect ping -d "$(cat "$node_file")" -t 5
        ;;
      beat)
        # Beat writes its schedule file on its first tick and then at least every 3 minutes
        # (Celery's sync interval); a beat stuck or unable to tick stops writing it.
        exec python - <<'PY'
import glob, os, sys, time
files = glob.glob(os.path.join(os.environ["LEASING_VAR_DIR"], "celerybeat-schedule*"))
age = time.time() - max((os.path.getmtime(f) for f in files), default=0)
limit = float(os.environ.get("BEAT_HEALTH_MAX_AGE_SECONDS", "300"))
print(f"beat schedule written {age:.0f} s ago (limit {limit:.0f} s)")
sys.exit(0 if age <= limit else 1)
PY
        ;;
      simulator)
        exec python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"SIMULATOR_PORT\", \"8765\")}/_simulator/health', timeout=5)"
        ;;
      *)
        echo "usage: health web|worker|beat|simulator" >&2
        exit 2
        ;;
    esac
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
