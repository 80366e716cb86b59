"""Builds allybot: the Bolt app with every handler wired in, the aiohttp web app around it,
and what they share. The one place where handlers meet the domain (see `allybot/__init__.py`)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.signature import SignatureVerifier

from bot import dashboard, health, migrate, named
from bot.db import Database
from bot.inbox import Inbox, request_id
from bot.logs import log_context
from bot.metrics import REQUEST_SECONDS, REQUESTS
from bot.oauth import INSTALL_PATH, REDIRECT_PATH, installation_store, oauth_settings
from bot.runtime import AllyBot
from bot.services import workspaces
from bot.settings import Settings
from bot.slack import SlackClients, retry_handlers
from bot.tenancy import installation_key_of
from bot.verify import bolt_request_of, is_signed, read_body
from handlers import register_all

logger = logging.getLogger(__name__)


def request_kind(body: dict[str, Any]) -> str:
    """A low-cardinality label for a Slack request, for /metrics and logs."""
    if "command" in body:
        return "command"
    kind = str(body.get("type") or "unknown")
    return {
        "event_callback": "event",
        "block_actions": "action",
        "view_submission": "view",
        "view_closed": "view",
        "message_action": "shortcut",
        "shortcut": "shortcut",
        "block_suggestion": "options",
        "url_verification": "url_verification",
    }.get(kind, "other")


def _outcome(status: int) -> str:
    if status < 300:
        return "ok"
    return {400: "unreadable", 401: "unauthorized", 404: "unhandled"}.get(status, "error")


def create_app(
    settings: Settings, *, db: Database | None = None, clients: SlackClients | None = None
) -> AllyBot:
    """A complete allybot; nothing is module-level, so tests can build as many as they need."""
    db = db or Database(settings.database_url)
    clients = clients or SlackClients(settings)
    if clients.names is None:
        clients.names = named.from_database(db)
    inbox = Inbox(db, clients)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    signing = settings.slack_signing_secret
    oauth = None
    if settings.oauth_enabled:
        if clients.installations is None:
            clients.installations = installation_store(settings, db.engine)

        async def on_installed(installation: Installation) -> None:
            async with db.session() as session:
                await workspaces.mark_installed(
                    session,
                    team_id=installation_key_of(installation),
                    enterprise_id=installation.enterprise_id,
                    name=installation.team_name or installation.enterprise_name,
                    now=datetime.now(UTC),
                )

        oauth = oauth_settings(settings, db.engine, clients.installations, on_installed)
    bolt = AsyncApp(
        # Named, so Bolt does not name it after its caller's file through inspect.stack(),
        # which reads the source of every frame on the stack (0.2 s and more per app).
        name="allybot.bolt",
        token=token,
        signing_secret=signing.get_secret_value() if signing else None,
        # `answer` checks each request's signature before anything reads its body; Bolt's
        # check of the same bytes again would find the same.
        request_verification_enabled=False,
        process_before_response=True,
        oauth_settings=oauth,
        logger=logging.getLogger("allybot.bolt"),
    )
    # Bolt builds its own client from the token (given a client as well, it would warn that
    # SLACK_BOT_TOKEN goes unused); its calls (auth.test) go where allybot's go.
    bolt.client.base_url = settings.slack_api_url
    bolt.client.retry_handlers = retry_handlers()
    register_all(bolt, inbox)

    verifier = SignatureVerifier(signing.get_secret_value()) if signing else None

    async def slack_events(request: web.Request) -> web.Response:
        with inbox.answering():
            return await answer(request)

    def refuse(status: int) -> web.Response:
        REQUESTS.labels("unverified", _outcome(status)).inc()
        logger.info("slack request", extra={"outcome": _outcome(status), "status": status})
        return web.Response(status=status)

    async def answer(request: web.Request) -> web.Response:
        started = time.perf_counter()
        raw = await request.read()
        stamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if verifier is not None and not is_signed(verifier, raw, stamp, signature):
            return refuse(401)  # nothing of the body is read, so nothing it claims is logged
        body = read_body(raw, request.content_type)
        if body is None:
            return refuse(400)
        bolt_request = bolt_request_of(raw.decode(), body, request.query_string, request.headers)
        kind = request_kind(bolt_request.body)
        ids: dict[str, Any] = {"request": request_id(bolt_request.body)}
        if bolt_request.context.enterprise_id:
            ids["enterprise"] = bolt_request.context.enterprise_id
        if "X-Slack-Retry-Num" in request.headers:
            ids["retry"] = request.headers["X-Slack-Retry-Num"]
        with log_context(team=bolt_request.context.team_id, kind=kind, **ids):
            bolt_response = await bolt.async_dispatch(bolt_request)
            outcome = _outcome(bolt_response.status)
            REQUESTS.labels(kind, outcome).inc()
            REQUEST_SECONDS.labels(kind).observe(time.perf_counter() - started)
            logger.info("slack request", extra={"outcome": outcome, "status": bolt_response.status})
        return await to_aiohttp_response(bolt_response)

    healthy = [True]  # a log line when readiness changes, none on each probe

    def health_changed(ok: bool, reason: str = "") -> None:
        if ok != healthy[0]:
            healthy[0] = ok
            if ok:
                logger.info("health check: allybot can record requests again")
            else:
                logger.warning("health check: not ready: %s", reason)

    async def healthz(_request: web.Request) -> web.Response:
        """Ready when the database answers and takes a write like recording a request."""
        try:
            state = await migrate.schema_state(db)
        except Exception as exc:  # the point of the endpoint is to report it
            health_changed(False, f"database unreachable ({type(exc).__name__})")
            return web.json_response({"status": "error", "database": "unreachable"}, status=503)
        try:
            await health.probe_write(db)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, health.NotReady) else type(exc).__name__
            health_changed(False, f"cannot record a request ({reason})")
            return web.json_response(
                {"status": "error", **state, "record": "failing", "reason": reason}, status=503
            )
        health_changed(True)
        return web.json_response({"status": "ok", **state, "record": "ok"}, dumps=json.dumps)

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def oauth_page(request: web.Request) -> web.Response:
        """GET /slack/install and /slack/oauth_redirect: Bolt's OAuth flow, allybot's pages."""
        flow = bolt.oauth_flow
        assert flow is not None
        bolt_request = await to_bolt_request(request)
        with log_context(kind="oauth", path=request.path):
            if request.path == INSTALL_PATH:
                bolt_response = await flow.handle_installation(bolt_request)
            else:
                bolt_response = await flow.handle_callback(bolt_request)
            REQUESTS.labels("oauth", _outcome(bolt_response.status)).inc()
        return await to_aiohttp_response(bolt_response)

    webapp = web.Application(client_max_size=1024 * 1024)
    webapp.router.add_post("/slack/events", slack_events)
    if oauth is not None:
        webapp.router.add_get(INSTALL_PATH, oauth_page)
        webapp.router.add_get(REDIRECT_PATH, oauth_page)
    webapp.router.add_get("/healthz", healthz)
    webapp.router.add_get("/metrics", metrics)
    dashboard.mount(webapp, settings, db, clients)
    return AllyBot(settings=settings, db=db, clients=clients, inbox=inbox, bolt=bolt, web=webapp)
