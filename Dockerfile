# Leasing Desk: one image for every role. The first argument picks it (dashboard/entrypoint.sh):
#   web (default) | worker | beat | migrate | simulator | health <role> | any other command
#
#   docker build -t leasing-desk .
#   docker build --build-arg BASE_IMAGE=my-debian-python:3.13 -t leasing-desk .
#
# BASE_IMAGE: any Debian-like image whose `python3` is Python >= 3.12 with the venv module (the
# official python image, or Debian trixie with python3 + python3-venv, which .ci/compose-check uses).
ARG BASE_IMAGE=python:3.13-slim

# --- 1. build: a virtualenv holding the pinned dependencies, and nothing else -----------------------
FROM ${BASE_IMAGE} AS build
# Optional: where pip finds packages at build time (a mirror or proxy). Build arguments of this
# stage never reach the final image. (HTTP_PROXY / HTTPS_PROXY / NO_PROXY are Docker's own
# predefined build arguments and need no declaration.)
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml .ci/requirements.lock ./
# The project's runtime dependencies (pyproject's [project] dependencies, not the dev extras), at the
# exact versions of .ci/requirements.lock. The project itself is not installed: it runs from /app.
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && /opt/venv/bin/pip install -c requirements.lock -r requirements.txt \
    && /opt/venv/bin/python -c "import django, celery, uvicorn, psycopg, whitenoise, redis, httpx, pydantic"

# --- 2. runtime -------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# A fixed, unprivileged user: the code is root-owned (read-only to it), only /var/lib/leasing-desk is its.
RUN groupadd --gid 10001 leasing \
    && useradd --uid 10001 --gid leasing --home-dir /var/lib/leasing-desk --no-create-home \
       --shell /usr/sbin/nologin leasing
COPY --from=build /opt/venv /opt/venv
# LEASING_VAR_DIR holds the collected static files (baked in below, served by whitenoise) and beat's
# schedule file. Production settings (DEBUG=false, SECRET_KEY, DATABASE_URL, ...) come at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=dashboard.settings \
    LEASING_VAR_DIR=/var/lib/leasing-desk \
    DEBUG=false
WORKDIR /app
COPY . /app
# collectstatic runs with DEBUG on only because settings refuse DEBUG=false without a real
# SECRET_KEY; nothing of that run is kept but the static files. Settings also create the embedded
# broker's folders when REDIS_URL is unset: removed, the running containers use Redis.
RUN DEBUG=true python manage.py collectstatic --noinput -v 0 \
    && rm -rf "$LEASING_VAR_DIR/celery" "$LEASING_VAR_DIR/cache" \
    && python -m compileall -q /app \
    && chmod 0755 /app/dashboard/entrypoint.sh \
    && chown leasing:leasing "$LEASING_VAR_DIR"
USER leasing
EXPOSE 8000
ENTRYPOINT ["/app/dashboard/entrypoint.sh"]
CMD ["web"]
