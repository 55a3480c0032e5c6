# Nanolearn: API + scheduler. Set NANOLEARN_DATABASE_URL (PostgreSQL), NANOLEARN_SMTP_URL,
# NANOLEARN_BASE_URL and NANOLEARN_SECRET_KEY; run more containers with `nanolearn worker` to scale.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NANOLEARN_HOST=0.0.0.0 \
    NANOLEARN_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY lessons ./lessons
# Editable: the code reads templates/, migrations/ and lessons/ beside app/.
RUN pip install --no-compile -e .

RUN useradd --system --uid 10001 --home-dir /app nanolearn \
    && mkdir -p /data && chown nanolearn /data
USER nanolearn
VOLUME ["/data"]
EXPOSE 8000

CMD ["sh", "-c", "nanolearn migrate && nanolearn lessons sync && exec nanolearn serve"]
