# allybot: `allybot serve`, one process (Slack Events API, slash commands and interactivity on
# POST /slack/events, the scheduler inside), on SQLite in the /data volume.
# Build:  docker build -t allybot .
# Run:    docker run -p 3000:3000 -v allybot-data:/data \
#           -e SLACK_BOT_TOKEN=xoxb-… -e SLACK_SIGNING_SECRET=… allybot
# Another port: -e PORT=8080 -p 8080:8080 (serve and the health check both read PORT).
# Several processes or replicas need PostgreSQL: set DATABASE_URL=postgresql://… and run
# `allybot serve --workers 1` (see deploy/kubernetes/deployment.yaml).
#
# The base image is pinned by digest (the OCI index of python:3.11-slim-bookworm, Python
# 3.11.16), so a rebuild gets the same base. To move to a newer one:
#   docker buildx imagetools inspect python:3.11-slim-bookworm   # "Digest:" line
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/allybot
WORKDIR /src

# Dependencies first, read from pyproject.toml alone: a change to the code reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/allybot/bin/pip install --no-cache-dir -r requirements.txt

# Then allybot itself, without touching the dependencies; pip and setuptools stay behind.
COPY README.md alembic.ini ./
COPY allybot/ ./allybot/
COPY bot/ ./bot/
COPY handlers/ ./handlers/
COPY scheduler/ ./scheduler/
COPY migrations/ ./migrations/
RUN /opt/allybot/bin/pip install --no-cache-dir --no-deps . \
    && /opt/allybot/bin/pip uninstall --yes pip setuptools wheel

FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/allybot/bin:$PATH

# No pip or setuptools in the final image: nothing installs anything at run time. An
# unprivileged user owns only the data directory; the installed code stays root-owned.
RUN python -m pip uninstall --yes pip setuptools wheel \
    && rm -rf /usr/local/bin/pip /usr/local/bin/pip3 /usr/local/bin/pip3.11 \
        /usr/local/lib/python3.11/ensurepip/_bundled \
    && groupadd --system --gid 10001 allybot \
    && useradd --system --uid 10001 --gid allybot --home-dir /home/allybot --create-home \
        --shell /usr/sbin/nologin allybot \
    && mkdir -p /data \
    && chown allybot:allybot /data

# The migrations ship inside the package: `allybot serve` upgrades the database on start.
COPY --from=build /opt/allybot /opt/allybot
WORKDIR /app

# SQLite is for one process: the image runs serve with no worker processes.
ENV DATABASE_URL=sqlite:////data/allybot.db \
    PORT=3000
VOLUME ["/data"]

# Numeric, so runtimes that enforce runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001

EXPOSE 3000

# slim images have no curl. /healthz answers 200 while allybot can record a Slack request
# (the database answers and takes a write); it asks on the port serve listens on, $PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["allybot", "serve", "--host", "0.0.0.0"]
