# Serves the shipped definitions over the deterministic demo data.
FROM python:3.11-slim

WORKDIR /srv/tapflow
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TAPFLOW_HOST=0.0.0.0 TAPFLOW_PORT=8000 \
    TAPFLOW_DATABASE=/data/tapflow.duckdb TAPFLOW_PROJECT_DIR=/srv/tapflow

# Dependencies first (cached while only definitions change), then the project.
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir .

COPY metrics ./metrics
COPY entities ./entities
COPY migrations ./migrations
COPY docs ./docs

RUN mkdir -p /data && tapflow migrate && tapflow seed && tapflow validate
VOLUME ["/data"]
EXPOSE 8000
CMD ["tapflow", "serve"]
