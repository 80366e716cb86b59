# allybot: `allybot serve` (Slack Events API, slash commands, interactivity on /slack/events).
# Build:  docker build -t allybot .
# Run:    docker run -p 3000:3000 -v allybot-data:/data \
#           -e SLACK_BOT_TOKEN=xoxb-… -e SLACK_SIGNING_SECRET=… allybot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# An unprivileged user owns only the data directory; the installed code stays root-owned.
RUN groupadd --system --gid 10001 allybot \
    && useradd --system --uid 10001 --gid allybot --home-dir /home/allybot --create-home \
        --shell /usr/sbin/nologin allybot \
    && mkdir -p /data \
    && chown allybot:allybot /data

WORKDIR /app

# Alembic's config and migrations stay in /app: `allybot serve` upgrades the database on start.
COPY pyproject.toml README.md alembic.ini ./
COPY allybot/ ./allybot/
COPY bot/ ./bot/
COPY handlers/ ./handlers/
COPY scheduler/ ./scheduler/
COPY migrations/ ./migrations/
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

ENV DATABASE_URL=sqlite:////data/allybot.db
VOLUME ["/data"]

# Numeric, so runtimes that enforce runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001

EXPOSE 3000

# slim images have no curl; /healthz answers 200 when the database does.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["allybot", "serve", "--host", "0.0.0.0", "--port", "3000", "--workers", "1"]
