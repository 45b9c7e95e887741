# CI stand-in for the official `redis:8` image (no public registry is reachable in CI), built by
# .ci/compose-check from Debian's packages on the local Debian base: `redis-server` and `redis-cli`
# on PATH, data in /data (the working directory, where the AOF files go), run as an unprivileged user.
ARG BASE_IMAGE=leasing-desk-base:trixie
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
CMD ["redis-server"]
