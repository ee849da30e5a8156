# syntax=docker/dockerfile:1
# One image holds every service; SERVICE picks the one it runs by default.
#   docker build --build-arg SERVICE=intake -t helpdesk-intake .
#   docker run --rm -p 8002:8002 -e SERVICE=router helpdesk-intake   # the same image runs any service
# docker-compose.yml builds it once per service; deploy/k8s runs one image and sets SERVICE per Deployment.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: wheels of libs/events and every service (pinned by constraints.txt) into /opt/venv
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY constraints.txt ./
COPY libs/events ./libs/events
COPY services ./services

RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip wheel --wheel-dir /wheels -c constraints.txt ./libs/events ./services/* \
 && /opt/venv/bin/pip install --no-index --find-links /wheels -c constraints.txt \
        helpdesk-events $(for s in services/*/; do echo "helpdesk-$(basename "$s")"; done)

# ---- runtime: the venv on a clean slim image, as a non-root user
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
ENV SERVICE=${SERVICE} \
    PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    FAUST_DATADIR=/tmp/faust-data
# FAUST_DATADIR: faust (the router) creates its data directory at start, by default under the working
# directory; the root filesystem is read-only in Kubernetes, /tmp is the one writable place.

RUN groupadd --system --gid 10001 helpdesk \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin helpdesk

COPY --from=builder /opt/venv /opt/venv

# Fail the build on a missing or unknown SERVICE rather than at container start.
RUN test -n "${SERVICE}" && test -x "/opt/venv/bin/helpdesk-${SERVICE}"

WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8001 8002 8003 8004 8005

# Liveness only (/healthz): readiness (/readyz) is the orchestrator's business. The port is HTTP_PORT
# when set, otherwise the default of the service's own settings class.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import importlib, os, urllib.request; s = os.environ['SERVICE']; port = os.environ.get('HTTP_PORT') or importlib.import_module(f'helpdesk_{s}.settings').Settings.model_fields['http_port'].default; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

# exec: the service is PID 1 and receives SIGTERM itself.
CMD ["sh", "-c", "exec helpdesk-$SERVICE"]
