# Nanolearn: API + scheduler. Set NANOLEARN_DATABASE_URL (PostgreSQL), NANOLEARN_SMTP_URL,
# NANOLEARN_BASE_URL and NANOLEARN_SECRET_KEY; run more containers with `nanolearn worker` to scale.
# Without NANOLEARN_BASE_URL the container does not start: the links in the e-mails would read
# http://0.0.0.0:8000/…, which no recipient can open (the error says what to set).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NANOLEARN_HOST=0.0.0.0 \
    NANOLEARN_DATA_DIR=/data

WORKDIR /app
# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes, not on every
# code change. The list is read from pyproject.toml, so there is no second list to keep in step.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" > /tmp/requirements.txt \
    && pip install --no-compile -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY lessons ./lessons
# Editable: the code reads templates/, migrations/ and lessons/ beside app/. --no-deps: the
# layer above has them.
RUN pip install --no-compile --no-deps -e .

RUN useradd --system --uid 10001 --home-dir /app nanolearn \
    && mkdir -p /data && chown nanolearn /data
USER nanolearn
VOLUME ["/data"]
EXPOSE 8000

# Liveness from inside the container (the slim image has no curl): /healthz answers 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NANOLEARN_PORT', '8000'), timeout=4)"]

CMD ["sh", "-c", "nanolearn migrate && nanolearn lessons sync && exec nanolearn serve"]
