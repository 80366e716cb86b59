"""The dashboard's HTTP routes on allybot's aiohttp app: sign-in, the three pages, downloads.

Each handler finds the visitor from the session cookie, checks what they may see, calls the
same services Slack's surfaces use, and renders a page from bot/dashboard/pages.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from bot import i18n
from bot.blocks.privacy import build_erased_home_view
from bot.dashboard import language, notices, pages
from bot.dashboard.report_cache import ReportCache
from bot.dashboard.signin import (
    CALLBACK_PATH,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    STATE_COOKIE,
    STATE_SECONDS,
    SignIn,
    SignInRefused,
    TooManySignIns,
    Visitor,
    slack_origin,
)
from bot.db import Database
from bot.models import Person
from bot.services import (
    allies,
    commitments,
    insights,
    people,
    privacy,
    report,
    workspace_settings,
)
from bot.services.workspace_settings import LABELS, WorkspaceSettings
from bot.settings import Settings
from bot.slack import SlackClients

logger = logging.getLogger(__name__)

MAX_RANGE = timedelta(weeks=53)
# A page waits this long for a report being built, then says it is being prepared and
# reloads itself (a large workspace's report takes seconds; a page must not).
PAGE_WAIT = 0.5
PREPARING_REFRESH = 2
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def status_line(settings: Settings) -> str:
    """The one line `allybot serve` says about the dashboard at start."""
    if settings.dashboard_enabled:
        return (
            "dashboard on at /dashboard (Sign in with Slack redirect URL: "
            f"{settings.allybot_public_url or 'https://<this host>'}{CALLBACK_PATH})"
        )
    return (
        "dashboard off: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (the app's, as for "
        "installs in many workspaces) to serve /dashboard"
    )


def _secure_headers(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _cookie(response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/dashboard",
        secure=True,
        httponly=True,
        samesite="Lax",
    )


def _forget_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/dashboard", secure=True, httponly=True, samesite="Lax")


Handler = Callable[[web.Request, Visitor], Awaitable[web.StreamResponse]]
Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def in_browser_language(handler: Page) -> Page:
    """A page for someone not signed in: in the browser's language among those allybot
    speaks, else English."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        chosen = language.browser_language(request.headers.get("Accept-Language"))
        with i18n.speaking(chosen):
            return await handler(request)

    return wrapped


class Dashboard:
    """The routes, sharing allybot's database and Slack clients."""

    def __init__(self, settings: Settings, db: Database, clients: SlackClients) -> None:
        self.settings = settings
        self.db = db
        self.clients = clients
        self.signin = SignIn(settings, db, clients)
        self.reports = ReportCache()
        self.slack_origin = slack_origin(settings.slack_api_url)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/dashboard", self.home),
            web.get("/dashboard/", self.home),
            web.get(pages.STYLESHEET, self.stylesheet),
            web.get(pages.ICON, self.icon),
            web.get(pages.SIGNIN, in_browser_language(self.begin)),
            web.get(CALLBACK_PATH, in_browser_language(self.callback)),
            web.post(pages.SIGNOUT, self.member(self.signout, form=True)),
            web.get(pages.WORKSPACE, self.admin(self.workspace)),
            web.get("/dashboard/workspace.csv", self.admin(self.workspace_csv)),
            web.get("/dashboard/workspace.json", self.admin(self.workspace_json)),
            web.get(pages.SETTINGS, self.admin(self.settings_form)),
            web.post(pages.SETTINGS, self.admin(self.settings_save, form=True)),
            web.get(pages.ME, self.member(self.me)),
            web.get("/dashboard/me/export.json", self.member(self.export)),
            web.post("/dashboard/me/forget", self.member(self.forget, form=True)),
        ]

    # -- who is asking ---------------------------------------------------------------

    def redirect_uri(self, request: web.Request) -> str:
        base = self.settings.allybot_public_url or f"{request.scheme}://{request.host}"
        return base + CALLBACK_PATH

    async def visitor(self, request: web.Request) -> Visitor | None:
        return await self.signin.visitor(request.cookies.get(SESSION_COOKIE), now=datetime.now(UTC))

    def member(self, handler: Handler, *, form: bool = False) -> Callable[..., Any]:
        """Anyone signed in; a form must carry the session's CSRF token."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            visitor = await self.visitor(request)
            if visitor is None:
                if request.method != "GET":
                    return _secure_headers(html(notices.session_ended(), 401))
                raise web.HTTPFound(pages.SIGNIN)
            with i18n.speaking(visitor.language):
                return await checked(request, visitor)

        async def checked(request: web.Request, visitor: Visitor) -> web.StreamResponse:
            if form:
                data = await request.post()
                token = data.get("csrf")
                if not self.signin.signer.csrf_ok(
                    visitor.session_hash, token if isinstance(token, str) else None
                ):
                    logger.warning("dashboard form refused: CSRF token missing or wrong")
                    return _secure_headers(html(notices.form_expired(request.path), 403))
            return _secure_headers(await handler(request, visitor))

        return in_browser_language(wrapped)

    def admin(self, handler: Handler, *, form: bool = False) -> Callable[..., Any]:
        """Slack admins and owners only; everyone else is told so (403)."""

        async def only_admins(request: web.Request, visitor: Visitor) -> web.StreamResponse:
            if not visitor.is_admin:
                return html(notices.admins_only(), 403)
            return await handler(request, visitor)

        return self.member(only_admins, form=form)

    # -- sign-in ---------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        """The first page the visitor may see; Sign in with Slack without a session."""
        visitor = await self.visitor(request)
        if visitor is None:
            raise web.HTTPFound(pages.SIGNIN)
        raise web.HTTPFound(pages.WORKSPACE if visitor.is_admin else pages.ME)

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        response = web.Response(text=pages.STYLE, content_type="text/css", charset="utf-8")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return _secure_headers(response)

    async def icon(self, request: web.Request) -> web.StreamResponse:
        response = web.Response(text=pages.ICON_SVG, content_type="image/svg+xml")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return _secure_headers(response)

    async def begin(self, request: web.Request) -> web.StreamResponse:
        try:
            url, state = await self.signin.begin(
                self.redirect_uri(request), address=request.remote or ""
            )
        except TooManySignIns:
            response = html(notices.too_many_sign_ins(), status=429)
            response.headers["Retry-After"] = str(STATE_SECONDS)
            return _secure_headers(response)
        response = web.Response(status=302, headers={"Location": url})
        _cookie(response, STATE_COOKIE, state, STATE_SECONDS)
        return _secure_headers(response)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        """Slack sends the browser back here with a code and the state."""
        query = request.query
        if query.get("error"):
            response = html(notices.cancelled())
            _forget_cookie(response, STATE_COOKIE)
            return _secure_headers(response)
        try:
            identity = await self.signin.finish(
                code=query.get("code"),
                state=query.get("state"),
                cookie_state=request.cookies.get(STATE_COOKIE),
                redirect_uri=self.redirect_uri(request),
            )
        except SignInRefused as refused:
            logger.warning("dashboard sign-in refused", extra={"reason": refused.reason})
            page = notices.refused(refused.reason)
            return _secure_headers(html(page, notices.REFUSAL_STATUS[refused.reason]))
        is_admin = await self.signin.ask_slack_is_admin(
            identity.team_id, identity.user_id, identity.enterprise_id
        )
        if is_admin is None:
            async with self.db.session() as session:
                default = await language.workspace_default(session, team_id=identity.team_id)
            with i18n.speaking(i18n.choose(default, i18n.language())):
                page = notices.not_installed(identity.team_name)
            return _secure_headers(html(page, 403))
        cookie = await self.signin.open_session(identity, is_admin=is_admin, now=datetime.now(UTC))
        logger.info("dashboard sign-in", extra={"outcome": "signed_in", "admin": is_admin})
        if is_admin:
            self.warm_default(identity.team_id)
        response = web.Response(status=303, headers={"Location": "/dashboard"})
        _cookie(response, SESSION_COOKIE, cookie, int(SESSION_LIFETIME.total_seconds()))
        _forget_cookie(response, STATE_COOKIE)
        return _secure_headers(response)

    async def signout(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        await self.signin.end(visitor)
        response = html(notices.signed_out())
        _forget_cookie(response, SESSION_COOKIE)
        return response

    # -- workspace -------------------------------------------------------------------

    @staticmethod
    def _range(request: web.Request, today: date) -> tuple[date, date, str | None]:
        """The date range asked for, or the report's default with the reason."""
        default = (report.default_since(datetime.now(UTC)), today)
        raw_since, raw_until = request.query.get("since"), request.query.get("until")
        if not raw_since and not raw_until:
            return *default, None
        try:
            since = date.fromisoformat(raw_since) if raw_since else default[0]
            until = date.fromisoformat(raw_until) if raw_until else today
        except ValueError:
            return *default, notices.range_problem("format")
        if until > today:
            until = today
        if since > until:
            return *default, notices.range_problem("order")
        if until - since > MAX_RANGE:
            return *default, notices.range_problem("range")
        return since, until, None

    async def _report(
        self, team_id: str, since: date, until: date, *, wait: float | None = None
    ) -> report.Report | None:
        """The report for a range; None when it is still being built after `wait` seconds
        (it goes on being built for the next request)."""
        key = (team_id, since, until)
        pending = self.reports.get(key, self._builder(team_id, since, until))
        if wait is None:
            return await pending
        try:
            return await asyncio.wait_for(asyncio.shield(pending), timeout=wait)
        except TimeoutError:
            return None

    def _builder(
        self, team_id: str, since: date, until: date
    ) -> Callable[[], Awaitable[report.Report]]:
        async def build() -> report.Report:
            now = datetime.now(UTC)
            end = (
                now
                if until >= now.date()
                else datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
            )
            async with self.db.session() as session:
                return await report.build(session, team_id=team_id, until=end, since=since)

        return build

    def warm_default(self, team_id: str) -> None:
        """Start building the range the workspace page opens on, so it is ready sooner."""
        today = datetime.now(UTC).date()
        since = report.default_since(datetime.now(UTC))
        self.reports.warm((team_id, since, today), self._builder(team_id, since, today))

    async def workspace(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        since, until, problem = self._range(request, datetime.now(UTC).date())
        built = await self._report(visitor.team_id, since, until, wait=PAGE_WAIT)
        chrome = pages.Chrome(visitor.is_admin, visitor.csrf, pages.WORKSPACE)
        if built is None:
            response = html(pages.preparing_page(chrome=chrome, refresh=PREPARING_REFRESH))
            response.headers["Retry-After"] = str(PREPARING_REFRESH)
            return response
        return html(pages.workspace_page(built, chrome=chrome, until=until, problem=problem))

    async def workspace_csv(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        since, until, _ = self._range(request, datetime.now(UTC).date())
        built = await self._report(visitor.team_id, since, until)
        assert built is not None
        return web.Response(
            text=pages.workspace_csv(built),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="allybot-{since}-{until}.csv"'},
        )

    async def workspace_json(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        since, until, _ = self._range(request, datetime.now(UTC).date())
        built = await self._report(visitor.team_id, since, until)
        assert built is not None
        return web.Response(
            text=json.dumps(report.to_dict(built), indent=2),
            content_type="application/json",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="allybot-{since}-{until}.json"'},
        )

    # -- settings --------------------------------------------------------------------

    async def _settings_page(
        self,
        visitor: Visitor,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        saved: str | None = None,
        status: int = 200,
    ) -> web.Response:
        async with self.db.session() as session:
            workspace = await people.ensure_workspace(session, team_id=visitor.team_id)
            current = WorkspaceSettings.of(workspace)
            history = await workspace_settings.recent_changes(session, team_id=visitor.team_id)
            names = await _names(session, visitor.team_id, {c.changed_by for c in history})
        chrome = pages.Chrome(visitor.is_admin, visitor.csrf, pages.SETTINGS)
        page = pages.settings_page(
            pages.form_values(current) | (values or {}),
            chrome=chrome,
            history=history,
            names=names,
            errors=errors,
            saved=saved,
        )
        return html(page, status)

    async def settings_form(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        saved = request.query.get("saved")
        note = notices.saved(saved != "0") if saved is not None else None
        return await self._settings_page(visitor, saved=note)

    async def settings_save(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """Validated by the admin modal's model; saved as the admin, asked of Slack again."""
        data = await request.post()
        # Only the fields the form sent: one rendered before a setting existed keeps it.
        values = {name: str(data[name]) for name in LABELS if name in data}
        try:
            checked = workspace_settings.validate(values)
        except ValidationError as exc:
            errors = workspace_settings.field_errors(exc)
            return await self._settings_page(visitor, values=values, errors=errors, status=400)
        if not await self.signin.ask_slack_is_admin(visitor.team_id, visitor.user_id):
            return html(notices.not_saved(), 403)
        async with self.db.session() as session:
            changes = await workspace_settings.apply(
                session,
                team_id=visitor.team_id,
                settings=checked,
                changed_by=visitor.user_id,
                now=datetime.now(UTC),
            )
        logger.info("dashboard settings saved", extra={"outcome": f"{len(changes)} changed"})
        raise web.HTTPSeeOther(f"{pages.SETTINGS}?saved={len(changes)}")

    # -- me --------------------------------------------------------------------------

    async def me(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        now = datetime.now(UTC)
        async with self.db.session() as session:
            figures = await insights.figures(
                session, team_id=visitor.team_id, user_id=visitor.user_id, now=now
            )
            mine = await allies.list_allies(
                session, team_id=visitor.team_id, user_id=visitor.user_id
            )
            promises = await commitments.open_list(
                session, team_id=visitor.team_id, owner_id=visitor.user_id
            )
            mentioned = await people.get_people(
                session,
                team_id=visitor.team_id,
                user_ids=[m for c in promises for m in pages.MENTION.findall(c.text)],
            )
        names = {uid: p.name for uid, p in mentioned.items() if p.name}
        names |= {v.ally.ally_id: v.person.name for v in mine if v.person and v.person.name}
        chrome = pages.Chrome(visitor.is_admin, visitor.csrf, pages.ME)
        page = pages.me_page(
            figures, chrome=chrome, allies=mine, promises=promises, names=names, now=now
        )
        return html(page)

    async def export(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        now = datetime.now(UTC)
        async with self.db.session() as session:
            data = await privacy.export(
                session, team_id=visitor.team_id, user_id=visitor.user_id, now=now
            )
        return web.Response(
            text=json.dumps(data, indent=2, ensure_ascii=False),
            content_type="application/json",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="allybot-{now.date()}.json"'},
        )

    async def forget(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """Erase the person (as `/ally forget-me` does) and end all their sessions."""
        data = await request.post()
        if data.get("confirm") != "yes":
            return html(notices.nothing_erased(), 400)
        async with self.db.session() as session:
            erased = await privacy.erase(session, team_id=visitor.team_id, user_id=visitor.user_id)
        await self.signin.end_person(visitor.team_id, visitor.user_id)
        client = await self.clients.for_team(visitor.team_id)
        await client.views_publish(user_id=visitor.user_id, view=build_erased_home_view())
        logger.info("dashboard forget-me", extra={"outcome": "erased"})
        response = html(notices.erased(erased.deleted, erased.anonymised))
        _forget_cookie(response, SESSION_COOKIE)
        return response


async def _names(session: Any, team_id: str, user_ids: set[str]) -> dict[str, str]:
    """Display names for the people in the change history (a label such as deploy-bot
    stays as it is)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Person.user_id, Person.name).where(
            Person.team_id == team_id, Person.user_id.in_(user_ids)
        )
    )
    return {uid: name for uid, name in rows if name}


def mount(webapp: web.Application, settings: Settings, db: Database, clients: SlackClients) -> bool:
    """Add the dashboard's routes when the app's client id and secret are set."""
    if not settings.dashboard_enabled:
        return False
    webapp.router.add_routes(Dashboard(settings, db, clients).routes())
    return True
