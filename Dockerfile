FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install . \
    && useradd --create-home --uid 10001 kling \
    && mkdir -p /app/data && chown kling /app/data

USER kling
VOLUME ["/app/data"]
EXPOSE 8080
CMD ["kling-bot"]
