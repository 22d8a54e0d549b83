# Two stages: the build stage installs the locked dependencies (hashes checked) before the code
# is copied, so a code change reuses that layer; the final image has no compiler, no pip cache
# and runs as an unprivileged numeric user.
FROM python:3.11.13-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
# pip and setuptools are needed to install, not to run: 25 MB less in the final image.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

FROM python:3.11.13-slim-bookworm

# METRICS_LISTEN: /metrics and /healthz inside the container, in either mode, for HEALTHCHECK.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    METRICS_LISTEN=127.0.0.1:9100
RUN useradd --create-home --uid 10001 kling && mkdir -p /app/data && chown 10001:10001 /app/data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv

USER 10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:9100/healthz', timeout=4).status != 200)"]
VOLUME ["/app/data"]
EXPOSE 8080
CMD ["kling-bot"]
