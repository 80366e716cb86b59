"""Sign in with Slack for the dashboard: OpenID Connect with slack_sdk's pieces, a state that
is used once and bound to the browser (as the install flow's), and sessions kept in the
database behind a signed cookie."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import directory, i18n
from bot.dashboard import language
from bot.db import Database
from bot.models import SLACK_OAUTH_STATES, DashboardSession
from bot.settings import Settings
from bot.slack import SlackClients

logger = logging.getLogger(__name__)

SCOPES = ("openid", "profile")
CALLBACK_PATH = "/dashboard/callback"
SESSION_COOKIE = "allybot_dashboard"
STATE_COOKIE = "allybot_dashboard_state"
STATE_SECONDS = 600
SESSION_LIFETIME = timedelta(hours=12)
ADMIN_RECHECK = timedelta(hours=1)
# Sign-ins begun and not finished that one address (and this process) may hold at once: a
# browser needs one, a few tabs a few; a loop of anonymous GETs gets no more rows than this.
OPEN_PER_ADDRESS = 30
OPEN_IN_ALL = 5_000


class TooManySignIns(Exception):
    """More sign-ins begun and not finished than `OPEN_PER_ADDRESS` (or `OPEN_IN_ALL`)."""


class OpenStates:
    """The states this process issued and has not seen come back, by the address that asked
    (oldest first), so that nobody can fill the states table by asking again and again."""

    def __init__(self, per_address: int = OPEN_PER_ADDRESS, in_all: int = OPEN_IN_ALL) -> None:
        self.per_address, self.in_all = per_address, in_all
        self._states: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._by_address: Counter[str] = Counter()

    def _forget(self, state: str) -> None:
        address, _ = self._states.pop(state)
        self._by_address[address] -= 1
        if self._by_address[address] <= 0:
            del self._by_address[address]

    def admit(self, address: str, now: float) -> str:
        """A place for one more sign-in from `address` (a ticket to name its state by, once
        issued); TooManySignIns when it holds too many already. Taken before any await, so
        requests at the same instant are counted too."""
        while self._states:
            oldest, (_, issued) = next(iter(self._states.items()))
            if now - issued < STATE_SECONDS:
                break
            self._forget(oldest)
        if self._by_address[address] >= self.per_address or len(self._states) >= self.in_all:
            raise TooManySignIns(address)
        ticket = "ticket:" + secrets.token_urlsafe(12)
        self._states[ticket] = (address, now)
        self._by_address[address] += 1
        return ticket

    def issued(self, ticket: str, state: str) -> None:
        self._states[state] = self._states.pop(ticket)

    def returned(self, state: str) -> None:
        if state in self._states:
            self._forget(state)


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete sign-in and install states past their expiry and sessions past theirs (the
    scheduler's pass calls this, so neither table grows with visits nobody finished)."""
    states = await session.execute(
        delete(SLACK_OAUTH_STATES).where(
            SLACK_OAUTH_STATES.c.expire_at <= normalize_datetime_for_db(now)
        )
    )
    sessions = await session.execute(
        delete(DashboardSession).where(DashboardSession.expires_at <= now)
    )
    return int(states.rowcount or 0) + int(sessions.rowcount or 0)  # type: ignore[attr-defined]


def slack_origin(api_url: str) -> str:
    """Scheme and host of SLACK_API_URL: Slack's pages live there too (slack.com,
    slack-gov.com, or a test double), so sign-in never leaves the host deployers chose."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}"


class SignInRefused(Exception):
    """Why a sign-in did not complete; `reason` picks the page shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """Who Slack says signed in."""

    team_id: str
    user_id: str
    enterprise_id: str | None
    team_name: str | None


@dataclass(frozen=True)
class Visitor:
    """A signed-in browser on this request."""

    team_id: str
    user_id: str
    is_admin: bool
    csrf: str
    session_hash: str
    language: str = i18n.DEFAULT  # the language the dashboard speaks to them


class Signer:
    """HMACs keyed from the app's client secret: the session cookie and the CSRF tokens."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"allybot dashboard\0" + secret.encode()).digest()

    def _mac(self, purpose: str, value: str) -> str:
        digest = hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac('cookie', value)}"

    def unsign(self, signed: str) -> str | None:
        value, _, mac = signed.rpartition(".")
        if not value or not hmac.compare_digest(mac, self._mac("cookie", value)):
            return None
        return value

    def csrf(self, session_hash: str) -> str:
        return self._mac("csrf", session_hash)

    def csrf_ok(self, session_hash: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(session_hash))


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SignIn:
    """The sign-in flow and the sessions it opens."""

    def __init__(self, settings: Settings, db: Database, clients: SlackClients) -> None:
        assert settings.slack_client_id and settings.slack_client_secret
        self.settings = settings
        self.db = db
        self.clients = clients
        self.client_id = settings.slack_client_id
        self.client_secret = settings.slack_client_secret.get_secret_value()
        self.signer = Signer(self.client_secret)
        self.authorize_url = f"{slack_origin(settings.slack_api_url)}/openid/connect/authorize"
        # The install flow's store and table: a state is issued once and consumed once.
        self.states = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS,
            engine=db.engine,
            logger=logging.getLogger("allybot.dashboard_states"),
        )
        self.open_states = OpenStates()

    # -- the flow --------------------------------------------------------------------

    async def begin(self, redirect_uri: str, *, address: str = "") -> tuple[str, str]:
        """Slack's authorize URL for a new state, and the state for the browser's cookie;
        TooManySignIns when `address` has begun too many sign-ins it has not finished."""
        ticket = self.open_states.admit(address, time.monotonic())
        try:
            state = await self.states.async_issue()
        except BaseException:
            self.open_states.returned(ticket)
            raise
        self.open_states.issued(ticket, state)
        generator = OpenIDConnectAuthorizeUrlGenerator(
            client_id=self.client_id,
            redirect_uri=quote(redirect_uri, safe=""),
            scopes=list(SCOPES),
            authorization_url=self.authorize_url,
        )
        return generator.generate(state=state, nonce=secrets.token_urlsafe(16)), state

    async def finish(
        self, *, code: str | None, state: str | None, cookie_state: str | None, redirect_uri: str
    ) -> Identity:
        """Check the state as the install flow does, then ask Slack who signed in."""
        if not state or not cookie_state or not hmac.compare_digest(state, cookie_state):
            raise SignInRefused("invalid_browser")
        self.open_states.returned(state)
        if not await self.states.async_consume(state):
            raise SignInRefused("invalid_state")
        if not code:
            raise SignInRefused("missing_code")
        client = self.clients.client(None)
        try:
            tokens = await client.openid_connect_token(
                client_id=self.client_id,
                client_secret=self.client_secret,
                code=code,
                redirect_uri=redirect_uri,
            )
            info = await client.openid_connect_userInfo(token=str(tokens["access_token"]))
        except SlackApiError as exc:
            logger.warning("sign-in refused by Slack: %s", exc.response.get("error"))
            raise SignInRefused("invalid_code") from None
        team_id = info.get("https://slack.com/team_id")
        user_id = info.get("https://slack.com/user_id")
        if not team_id or not user_id:
            raise SignInRefused("invalid_code")
        return Identity(
            team_id=str(team_id),
            user_id=str(user_id),
            enterprise_id=info.get("https://slack.com/enterprise_id"),
            team_name=info.get("https://slack.com/team_name"),
        )

    # -- sessions --------------------------------------------------------------------

    async def ask_slack_is_admin(
        self, team_id: str, user_id: str, enterprise_id: str | None = None
    ) -> bool | None:
        """Slack's own answer now (users.info, never a cached profile); None when allybot is
        not installed there or the person is gone."""
        token = await self.clients.token_for(team_id, enterprise_id)
        if token is None:
            return None
        client = self.clients.client(token)
        person = await directory.refresh(self.db, client, team_id=team_id, user_id=user_id)
        if person is None or person.deleted or person.is_bot:
            return None
        return bool(person.is_admin or person.is_owner)

    async def open_session(self, identity: Identity, *, is_admin: bool, now: datetime) -> str:
        """A new session row; the signed cookie value for it."""
        session_id = secrets.token_urlsafe(32)
        async with self.db.session() as session:
            session.add(
                DashboardSession(
                    id_hash=_hash(session_id),
                    team_id=identity.team_id,
                    user_id=identity.user_id,
                    enterprise_id=identity.enterprise_id,
                    is_admin=is_admin,
                    admin_checked_at=now,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
        return self.signer.sign(session_id)

    async def visitor(self, cookie: str | None, *, now: datetime) -> Visitor | None:
        """The session a cookie names, if it is signed, known and not expired; the admin flag
        asked of Slack again once it is an hour old."""
        session_id = self.signer.unsign(cookie) if cookie else None
        if session_id is None:
            return None
        id_hash = _hash(session_id)
        async with self.db.session() as session:
            row = await session.get(DashboardSession, id_hash)
            if row is None:
                return None
            if row.expires_at <= now:
                await session.delete(row)
                return None
            team_id, user_id, enterprise_id = row.team_id, row.user_id, row.enterprise_id
            is_admin, checked = row.is_admin, row.admin_checked_at
            speaks = await language.reader(session, team_id=team_id, user_id=user_id)
        if now - checked >= ADMIN_RECHECK:
            answer = await self.ask_slack_is_admin(team_id, user_id, enterprise_id)
            if answer is None:
                await self.end_person(team_id, user_id)
                return None
            is_admin = answer
            async with self.db.session() as session:
                row = await session.get(DashboardSession, id_hash)
                if row is not None:
                    row.is_admin, row.admin_checked_at = is_admin, now
        return Visitor(
            team_id=team_id,
            user_id=user_id,
            is_admin=is_admin,
            csrf=self.signer.csrf(id_hash),
            session_hash=id_hash,
            language=speaks,
        )

    async def end(self, visitor: Visitor) -> None:
        async with self.db.session() as session:
            await session.execute(
                delete(DashboardSession).where(DashboardSession.id_hash == visitor.session_hash)
            )

    async def end_person(self, team_id: str, user_id: str) -> None:
        """Every session of one person (forget-me, or Slack no longer lists them)."""
        async with self.db.session() as session:
            await session.execute(
                delete(DashboardSession).where(
                    DashboardSession.team_id == team_id, DashboardSession.user_id == user_id
                )
            )

    async def sessions_of(self, team_id: str, user_id: str) -> int:
        async with self.db.session() as session:
            rows = await session.execute(
                select(DashboardSession.id_hash).where(
                    DashboardSession.team_id == team_id, DashboardSession.user_id == user_id
                )
            )
            return len(rows.all())
