"""A local stand-in for Slack's Web API, so allybot's tests and benchmarks never reach slack.com.

Standalone, for benchmark scripts: ``python -m tests.slack_double --port 0`` prints
``SLACK_API_URL=http://127.0.0.1:PORT/api/`` and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import dataclasses
import functools
import hashlib
import http
import itertools
import json
import mimetypes
import os
import random
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.oracles import oracles_dir

JsonDict = dict[str, Any]

SPEC_PATH = oracles_dir() / "slack-web-api.openapi-v2.json"
APP_ID = "A0ALLYBOT"
# Methods Slack added after the frozen spec (Sign in with Slack's OpenID Connect came in 2021);
# their arguments follow Slack's method reference.
NEWER_THAN_SPEC = frozenset(
    {
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "openid.connect.token",
        "openid.connect.userInfo",
    }
)
NO_TOKEN_METHODS = frozenset({"api.test", "oauth.v2.access", "openid.connect.token"})
# Called with the user token Sign in with Slack hands out, not a bot token.
USER_TOKEN_METHODS = frozenset({"openid.connect.userInfo"})
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
TEXT_LIMIT = 40_000
DEFAULT_SCOPES = (
    "app_mentions:read,channels:read,chat:write,commands,files:write,groups:read,"
    "im:history,im:read,im:write,reactions:read,reactions:write,team:read,users:read"
)
SLACKBOT_ID = "USLACKBOT"
_OWN_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "openid.connect.token": ("code",),
}
_TZ_LABELS = {
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}


# ---------------------------------------------------------------------------
# Slack's OpenAPI spec (the oracle for method names and required arguments)


class SpecMissing(RuntimeError):
    """Slack's published spec is absent where checks must run."""


@functools.cache
def _spec_paths() -> dict[str, Any] | None:
    """Slack's own method table, or None when the oracle is not on this machine. In CI
    (CI=true) a missing spec is an error: the double's checks must not quietly turn off."""
    try:
        spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if os.environ.get("CI") == "true":
            raise SpecMissing(
                f"Slack's Web API spec is not at {SPEC_PATH}; with CI=true the Slack double "
                "refuses to run without it (check out the shared oracles beside the project)"
            ) from None
        return None
    paths = spec.get("paths")
    return paths if isinstance(paths, dict) else None


def spec_available() -> bool:
    """Tell tests whether checks against Slack's spec can run here."""
    return _spec_paths() is not None


def spec_methods() -> frozenset[str]:
    """Method names in Slack's spec, so tests can prove the double invents none."""
    paths = _spec_paths() or {}
    return frozenset(p.lstrip("/") for p in paths)


def spec_required_args(method: str) -> tuple[str, ...]:
    """Arguments Slack's spec marks required, which Swagger 2.0 flags per parameter."""
    paths = _spec_paths()
    if paths is None:
        return ()
    names: list[str] = []
    for operation in (paths.get("/" + method) or {}).values():
        if not isinstance(operation, dict):
            continue
        for param in operation.get("parameters", []):
            name = param.get("name")
            if param.get("required") is True and name != "token" and name not in names:
                names.append(name)
    return tuple(names)


# ---------------------------------------------------------------------------
# Shapes shared with payload builders


def dm_channel_id(user_id: str) -> str:
    """A stable fake IM id for a user, so posts to a user id and conversations.open agree."""
    return "D" + hashlib.sha1(user_id.encode()).hexdigest()[:10].upper()


def group_dm_id(user_ids: list[str]) -> str:
    """A stable fake multi-person IM id, independent of the order users were listed in."""
    key = ",".join(sorted(set(user_ids)))
    return "G" + hashlib.sha1(key.encode()).hexdigest()[:10].upper()


def _tz_fields(tz: str) -> tuple[str, int]:
    """Slack's tz_label and tz_offset for a zone as it stands today."""
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    abbreviation = now.tzname() or tz
    seconds = int(offset.total_seconds()) if offset is not None else 0
    return _TZ_LABELS.get(abbreviation, abbreviation), seconds


@dataclass(frozen=True)
class _User:
    """What the double knows about one workspace member."""

    user_id: str
    team_id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
    deleted: bool
    is_admin: bool
    is_owner: bool
    bot_id: str | None = None
    locale: str = "en-US"


def _user_object(user: _User) -> JsonDict:
    """The `user` object of users.info, with the fields Slack sends."""
    first, _, last = user.real_name.partition(" ")
    avatar = hashlib.md5(user.user_id.encode()).hexdigest()[:12]
    profile: JsonDict = {
        "title": "",
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "fields": None,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": avatar,
        "first_name": first,
        "last_name": last,
        "image_72": f"https://avatars.slack-edge.com/{avatar}_72.png",
        "team": user.team_id,
    }
    if user.bot_id is not None:
        profile["bot_id"] = user.bot_id
        profile["api_app_id"] = APP_ID
    obj: JsonDict = {
        "id": user.user_id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": user.is_owner,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1764150000,
        "is_email_confirmed": not user.is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }
    if not user.deleted:
        # Slack leaves the time-zone fields out for deactivated accounts.
        label, offset = _tz_fields(user.tz)
        obj["tz"] = user.tz
        obj["tz_label"] = label
        obj["tz_offset"] = offset
    return obj


# ---------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Call:
    """One request the double received, kept so tests can assert on what allybot sent."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Slack would have accepted this call, for `where=` filters."""
        return self.status == 200 and self.error is None


@dataclass(frozen=True)
class _Install:
    """A bot token and the workspace it belongs to, as auth.test reports it."""

    token: str
    team_id: str
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None = None
    is_enterprise_install: bool = False


@dataclass(frozen=True)
class _Team:
    """A workspace's name and domain, for team.info, auth.test and permalinks."""

    team_id: str
    name: str
    domain: str
    enterprise_id: str | None = None


@dataclass(frozen=True)
class _OAuthGrant:
    """What oauth.v2.access hands back for one authorisation code."""

    code: str
    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    enterprise_id: str | None
    authed_user_id: str
    scope: str
    org_wide: bool = False


@dataclass(frozen=True)
class _OpenIDCode:
    """One Sign in with Slack authorisation: who signed in, for which app and redirect."""

    user_id: str
    client_id: str
    redirect_uri: str
    nonce: str | None


@dataclass
class _Fault:
    """A scripted failure still owed to the next calls of one method."""

    status: int
    times: int
    retry_after: int
    error: str | None


@dataclass
class _Channel:
    """Channel facts that change how Slack answers."""

    channel_id: str
    name: str
    is_private: bool = False
    is_archived: bool = False


@dataclass
class _Upload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None


@dataclass(frozen=True)
class _Answer:
    """What the double replies, kept apart from aiohttp so it can be recorded too."""

    status: int
    body: JsonDict | str
    error: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        """Render as Slack does: JSON for API answers, plain text for edge errors."""
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=self.headers)
        return web.json_response(self.body, status=self.status, headers=self.headers)


@dataclass(frozen=True)
class _Incoming:
    """A request's arguments and credentials, from whichever encoding it used."""

    args: JsonDict
    token: str | None
    problem: str | None = None


def _ok(**fields: Any) -> JsonDict:
    """A successful Slack answer."""
    return {"ok": True, **fields}


def _error(error: str, *messages: str) -> JsonDict:
    """A Slack `ok: false` answer, with response_metadata when Slack explains itself."""
    body: JsonDict = {"ok": False, "error": error}
    if messages:
        body["response_metadata"] = {"messages": list(messages)}
    return body


def _page(items: list[str], args: JsonDict) -> tuple[list[str], str] | JsonDict:
    """One page of `items` for `limit` and an opaque `cursor`, as Slack pages lists, with the
    next page's cursor ("" at the end); or Slack's error for a bad limit or cursor."""
    try:
        limit = max(1, min(int(args.get("limit") or 100), 1000))
    except ValueError:
        return _error("invalid_limit")
    start = 0
    cursor = _text(args, "cursor")
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return _error("invalid_cursor")
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor


def _json_answer(body: JsonDict) -> _Answer:
    """Slack answers API errors with HTTP 200 and `ok: false`."""
    return _Answer(200, body, None if body.get("ok") else str(body.get("error")))


def _rate_limited(retry_after: int) -> _Answer:
    """Slack's HTTP 429, which slack_sdk's retry handler reads Retry-After from."""
    return _Answer(
        429,
        {"ok": False, "error": "ratelimited"},
        "ratelimited",
        {"Retry-After": str(retry_after)},
    )


def _blank(value: Any) -> bool:
    """Slack treats absent, null and empty arguments alike."""
    return value is None or value == ""


def _text(args: JsonDict, name: str) -> str:
    """An argument as Slack reads it: a string, empty when absent."""
    value = args.get(name)
    return "" if value is None else str(value)


def _flag(args: JsonDict, name: str) -> bool:
    """A boolean argument as Slack reads it: true, "true" or "1"."""
    return _text(args, name).lower() in ("true", "1")


def _missing(args: JsonDict, *names: str) -> JsonDict | None:
    """Slack's answer when arguments are absent, for checks the spec does not make."""
    absent = [n for n in names if _blank(args.get(n))]
    if not absent:
        return None
    return _error("invalid_arguments", *(f"[ERROR] missing required field: {n}" for n in absent))


def _arg_matches(actual: Any, expected: Any) -> bool:
    """Compare a recorded argument with a wanted one, forgiving form encoding's strings."""
    if actual == expected:
        return True
    if isinstance(actual, str) and not isinstance(expected, str):
        if isinstance(expected, bool):
            return actual.lower() in (("1", "true") if expected else ("0", "false"))
        if isinstance(expected, list | dict):
            try:
                return bool(json.loads(actual) == expected)
            except ValueError:
                return False
        return actual == str(expected)
    if (
        isinstance(expected, str)
        and isinstance(actual, int | float)
        and not isinstance(actual, bool)
    ):
        return str(actual) == expected
    return False


def _parse_json_list(raw: Any) -> list[Any] | None:
    """Decode a JSON array sent either as a string (form) or as a list (JSON body)."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except ValueError:
            return None
        return decoded if isinstance(decoded, list) else None
    return None


def _parse_metadata(raw: Any) -> tuple[JsonDict | None, JsonDict | None]:
    """Message metadata (an object, or its JSON in a form), or Slack's error for it: it
    needs a string `event_type` and an object `event_payload`."""
    if _blank(raw):
        return None, None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return None, _error("invalid_metadata_format")
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        return None, _error("invalid_metadata_format")
    return value, None


def _check_blocks(raw: Any, limit: int, pointer: str) -> tuple[list[Any], JsonDict | None]:
    """Validate blocks as Slack does before rendering, so bad Block Kit fails in tests."""
    if _blank(raw):
        return [], None
    blocks = _parse_json_list(raw)
    if blocks is None:
        return [], _error(
            "invalid_blocks", f"[ERROR] must be a JSON array [json-pointer:{pointer}]"
        )
    if len(blocks) > limit:
        return [], _error(
            "invalid_blocks", f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"
        )
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return [], _error(
                "invalid_blocks",
                f"[ERROR] missing required field: type [json-pointer:{pointer}/{index}]",
            )
    return blocks, None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_jwt(claims: JsonDict) -> str:
    """An id token shaped like Slack's (header.claims.signature); the double holds no RSA key,
    so the signature is filler: allybot reads identity from openid.connect.userInfo."""
    header = {"typ": "JWT", "alg": "RS256", "kid": "double"}
    parts = [_b64url(json.dumps(x, separators=(",", ":")).encode()) for x in (header, claims)]
    filler = hashlib.sha256(".".join(parts).encode()).digest()
    return ".".join([*parts, _b64url(filler)])


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """Client id and secret from HTTP Basic auth, which slack_sdk uses for oauth.v2.access."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def _read_incoming(request: web.Request) -> _Incoming:
    """Merge query string and body, as Slack accepts arguments in either place."""
    args: JsonDict = dict(request.query)
    problem: str | None = None
    if request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if isinstance(body, dict):
                # Slack ignores a token inside a JSON body; it must come as a Bearer header.
                body.pop("token", None)
                args.update(body)
            else:
                problem = "invalid_json"
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    args[key] = value
                elif isinstance(value, bytes | bytearray):
                    args[key] = value.decode("utf-8", errors="replace")
                else:
                    args[key] = f"<file {value.filename}>"
    form_token = args.pop("token", None)
    token = str(form_token) if not _blank(form_token) else None
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip() or token
    elif authorization.startswith("Basic "):
        credentials = _basic_credentials(authorization)
        if credentials is not None:
            args.setdefault("client_id", credentials[0])
            args.setdefault("client_secret", credentials[1])
    return _Incoming(args, token, problem)


_Handler = Callable[[JsonDict, _Install], JsonDict]


class SlackDouble:
    """An in-process fake of Slack's Web API that records every call allybot makes."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        bot_user_id: str = "UALLYBOT",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Set up one workspace with allybot installed, ready for `start()`."""
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.calls: list[Call] = []
        # The same calls by method: a session's double keeps thousands, and every look of
        # `wait_for` reads those of one method only.
        self._calls_by_method: dict[str, list[Call]] = {}
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._started_at = time.monotonic()
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._installs: dict[str, _Install] = {}
        self._revoked: set[str] = set()
        self._teams: dict[str, _Team] = {team_id: _Team(team_id, "Acme", "acme")}
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        self._not_in_channel: set[str] = set()
        self._members: dict[str, list[str]] = {}
        self._profile_fields: list[JsonDict] = []  # team.profile.get's field definitions
        self._profile_values: dict[str, dict[str, str]] = {}  # user -> field id -> value
        self._dm_users: dict[str, str] = {}
        self._group_dms: set[str] = set()
        self._messages: dict[tuple[str, str], JsonDict] = {}
        self._reactions: set[tuple[str, str, str]] = set()
        self._views: dict[str, JsonDict] = {}
        self._home_views: dict[str, str] = {}
        self._uploads: dict[str, _Upload] = {}
        self._oauth_grants: dict[str, _OAuthGrant] = {}
        self._openid_user: str | None = None
        self._openid_denied = False
        self._openid_codes: dict[str, _OpenIDCode] = {}
        self._user_tokens: dict[str, str] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._random_429_rate = 0.0
        self._random = random.Random(0)
        self._channel_interval: float | None = None
        self._delays: dict[str, float] = {}
        # Set (and replaced) by each delayed method's release: its calls still waiting out
        # their delay are answered at once.
        self._released: dict[str, asyncio.Event] = {}
        # Set (and replaced) by each call recorded: `wait_for` and `assert_no_call` look again
        # the moment a call arrives, rather than on a poll.
        self._arrived = asyncio.Event()
        self._last_post_at: dict[str, float] = {}
        self._methods: dict[str, _Handler] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.profile.get": self._users_profile_get,
            "users.conversations": self._users_conversations,
            "team.profile.get": self._team_profile_get,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "team.info": self._team_info,
            "oauth.v2.access": self._oauth_v2_access,
            "openid.connect.token": self._openid_connect_token,
            "openid.connect.userInfo": self._openid_connect_user_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self.add_token(bot_token, team_id, bot_user_id)
        self.add_user(SLACKBOT_ID, name="slackbot", real_name="Slackbot", tz="America/Los_Angeles")

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Bind an ephemeral port so parallel test runs never collide."""
        if self._runner is not None:
            raise RuntimeError("SlackDouble is already running")
        _spec_paths()  # in CI, a missing spec stops here rather than skipping its checks
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._on_api)
        app.router.add_post("/response/{key}", self._on_response_url)
        app.router.add_post("/upload/{file_id}", self._on_upload)
        app.router.add_get("/openid/connect/authorize", self._on_openid_authorize)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Release the port; safe to call twice so fixtures can always clean up."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SlackDouble:
        """Start on entry so a test cannot forget to."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on exit so a failing test does not leak a listening socket."""
        await self.stop()

    @property
    def port(self) -> int:
        """The port the OS picked, needed to build URLs."""
        if self._port is None:
            raise RuntimeError("SlackDouble has not been started")
        return self._port

    @property
    def origin(self) -> str:
        """Scheme, host and port, the root of every URL the double hands out."""
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL to pass as slack_sdk's `base_url`."""
        return f"{self.origin}/api/"

    def response_url(self, key: str) -> str:
        """A response_url for a slash command or interaction that the double records."""
        return f"{self.origin}/response/{key}"

    def methods(self) -> list[str]:
        """The Web API methods answered, so tests can check them against Slack's spec."""
        return sorted(self._methods)

    # -- setup -------------------------------------------------------------

    def add_token(
        self,
        token: str,
        team_id: str,
        bot_user_id: str | None = None,
        *,
        enterprise_id: str | None = None,
        org_wide: bool = False,
    ) -> None:
        """Accept another bot token, as after allybot is installed in another workspace (or,
        `org_wide`, in a whole Enterprise Grid org: `team_id` is then the enterprise id)."""
        user_id = bot_user_id or self.bot_user_id
        bot_id = "B" + user_id[1:]
        self._installs[token] = _Install(token, team_id, user_id, bot_id, enterprise_id, org_wide)
        self._revoked.discard(token)
        if user_id not in self._users:
            self._users[user_id] = _User(
                user_id=user_id,
                team_id=team_id,
                name="allybot",
                real_name="allybot",
                tz="America/Los_Angeles",
                is_bot=True,
                deleted=False,
                is_admin=False,
                is_owner=False,
                bot_id=bot_id,
            )

    def revoke_token(self, token: str) -> None:
        """Make a token answer `token_revoked`, as after allybot is uninstalled."""
        self._revoked.add(token)

    def set_team(
        self,
        team_id: str,
        *,
        name: str,
        domain: str | None = None,
        enterprise_id: str | None = None,
    ) -> None:
        """Name a workspace, for team.info, auth.test and permalinks."""
        self._teams[team_id] = _Team(team_id, name, domain or team_id.lower(), enterprise_id)

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/London",
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        locale: str = "en-US",
    ) -> None:
        """Make users.info know a person; adding the same id again replaces them."""
        ZoneInfo(tz)
        handle = name or user_id.lower()
        self._users[user_id] = _User(
            user_id=user_id,
            team_id=team_id or self.team_id,
            name=handle,
            real_name=real_name or handle.replace(".", " ").title(),
            tz=tz,
            is_bot=is_bot,
            deleted=deleted,
            is_admin=is_admin,
            is_owner=is_owner,
            locale=locale,
        )

    def set_locale(self, user_id: str, locale: str) -> None:
        """The person changes their language in Slack's preferences."""
        self._users[user_id] = dataclasses.replace(self._users[user_id], locale=locale)

    def user(self, user_id: str) -> JsonDict:
        """The users.info `user` object, handy for building user_change events."""
        return _user_object(self._users[user_id])

    def dm_id(self, user_id: str) -> str:
        """The IM id Slack would give allybot's DM with this user."""
        channel = dm_channel_id(user_id)
        self._dm_users[channel] = user_id
        return channel

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> None:
        """Describe a channel for conversations.info; archived ones refuse posts."""
        self._channels[channel_id] = _Channel(
            channel_id, name or channel_id.lower(), is_private, is_archived
        )

    def set_not_in_channel(self, channel_id: str) -> None:
        """Make posts and reactions there fail, as when allybot was never invited."""
        self._not_in_channel.add(channel_id)

    def set_members(self, channel_id: str, user_ids: list[str]) -> None:
        """Members listed by conversations.members (and checked by chat.postEphemeral)."""
        self._members[channel_id] = list(user_ids)

    def set_profile_fields(self, labels: dict[str, str]) -> None:
        """The workspace's custom profile fields, id -> label, for team.profile.get."""
        self._profile_fields = [
            {
                "id": field_id,
                "ordering": index,
                "label": label,
                "hint": "",
                "type": "text",
                "possible_values": None,
                "options": {"is_scim": False, "is_protected": False},
                "is_hidden": False,
                "section_id": "S0PROFILE1",
            }
            for index, (field_id, label) in enumerate(labels.items())
        ]

    def set_profile_values(self, user_id: str, values: dict[str, str]) -> None:
        """A person's custom profile field values, by field id (users.profile.get)."""
        self._profile_values[user_id] = dict(values)

    def set_oauth_install(
        self,
        code: str,
        team_id: str,
        team_name: str,
        bot_token: str,
        bot_user_id: str,
        enterprise_id: str | None = None,
        authed_user_id: str = "U0INSTALLER",
        *,
        scope: str = DEFAULT_SCOPES,
        org_wide: bool = False,
    ) -> None:
        """Script what oauth.v2.access answers for a code; each code works once, like Slack's.
        `org_wide`: an Enterprise Grid org-wide install (`team_id` is then ignored)."""
        self._oauth_grants[code] = _OAuthGrant(
            code,
            team_id,
            team_name,
            bot_token,
            bot_user_id,
            enterprise_id,
            authed_user_id,
            scope,
            org_wide,
        )

    def sign_in_as(self, user_id: str | None, *, deny: bool = False) -> None:
        """Who Slack's consent screen signs in from now on (Sign in with Slack); `deny` makes
        the person press Cancel instead."""
        self._openid_user = user_id
        self._openid_denied = deny

    @property
    def openid_authorize_url(self) -> str:
        """Where a browser starts Sign in with Slack on the double."""
        return f"{self.origin}/openid/connect/authorize"

    # -- faults ------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next `times` calls of a method fail, to exercise allybot's retries."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == 200 and error is None:
            raise ValueError("a status-200 fault needs an error code")
        self._faults.setdefault(method, []).append(_Fault(status, times, retry_after, error))

    def random_429(self, rate: float, seed: int = 0) -> None:
        """Rate-limit a reproducible share of chat.postMessage calls, for load tests."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self._random_429_rate = rate
        self._random = random.Random(seed)

    def channel_rate_limit(self, per_second: float | None) -> None:
        """Enforce Slack's ~1 message per second per channel; None switches it off."""
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        self._channel_interval = None if per_second is None else 1.0 / per_second
        self._last_post_at.clear()
        self._no_delays()

    def delay(self, method: str, seconds: float) -> None:
        """Answer a method only after a while (the call is recorded at once), so a test can
        stop allybot, or change what it reads, while its requests are in flight; 0 turns it
        off and answers at once the calls still waiting, so a test that has done what it
        meant to do during them does not wait out the rest of their delay."""
        self._delays[method] = seconds
        if not seconds:
            self._release(method)

    def _release(self, method: str) -> None:
        released = self._released.pop(method, None)
        if released is not None:
            released.set()

    def _no_delays(self) -> None:
        for method in list(self._delays):
            self._release(method)
        self._delays.clear()

    def clear_faults(self) -> None:
        """Drop scripted failures, so one test's faults cannot leak into the next."""
        self._faults.clear()
        self._random_429_rate = 0.0
        self._channel_interval = None
        self._last_post_at.clear()
        self._no_delays()

    def clear_calls(self) -> None:
        """Forget recorded calls, so a shared double starts each test clean."""
        self.calls.clear()
        self._calls_by_method.clear()

    # -- assertions --------------------------------------------------------

    def calls_to(self, method: str, **match: Any) -> list[Call]:
        """Recorded calls of a method (accepted or not) whose args contain every match."""
        return [
            call
            for call in self._calls_by_method.get(method, ())
            if all(key in call.args and _arg_matches(call.args[key], v) for key, v in match.items())
        ]

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 15.0,
        where: Callable[[Call], bool] | None = None,
        **match: Any,
    ) -> list[Call]:
        """Wait for calls instead of sleeping, because allybot answers Slack asynchronously;
        looked for again as each call arrives (the double runs on the test's event loop)."""
        deadline = time.monotonic() + timeout
        while True:
            arrived = self._arrived
            found = [c for c in self.calls_to(method, **match) if where is None or where(c)]
            if len(found) >= count:
                return found
            if not await self._next_call(arrived, deadline):
                raise AssertionError(
                    f"expected {count} call(s) to {method} matching {match or '{}'}"
                    f"{' and where=' if where else ''} within {timeout}s, found {len(found)}.\n"
                    + self.describe_calls()
                )

    async def assert_no_call(
        self,
        method: str,
        *,
        within: float = 0.5,
        where: Callable[[Call], bool] | None = None,
        **match: Any,
    ) -> None:
        """Prove allybot stayed silent, failing as soon as a matching call shows up."""
        deadline = time.monotonic() + within
        while True:
            arrived = self._arrived
            found = [c for c in self.calls_to(method, **match) if where is None or where(c)]
            if found:
                raise AssertionError(
                    f"expected no call to {method} matching {match or '{}'}, found {len(found)}.\n"
                    + self.describe_calls()
                )
            if not await self._next_call(arrived, deadline):
                return

    @staticmethod
    async def _next_call(arrived: asyncio.Event, deadline: float) -> bool:
        """Until a call is recorded after `arrived` was taken (True) or `deadline` (False)."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            await asyncio.wait_for(arrived.wait(), left)
        except TimeoutError:
            return False
        return True

    def describe_calls(self) -> str:
        """A readable listing of every recorded call, for assertion messages."""
        if not self.calls:
            return "No calls were recorded."
        lines = ["Calls recorded:"]
        for call in self.calls:
            outcome = "ok" if call.ok else f"{call.status} {call.error}"
            args = ", ".join(f"{k}={v!r}" for k, v in call.args.items())
            if len(args) > 240:
                args = args[:237] + "..."
            lines.append(f"  +{call.at - self._started_at:8.3f}s {call.method} [{outcome}] {args}")
        return "\n".join(lines)

    # -- HTTP --------------------------------------------------------------

    async def _on_api(self, request: web.Request) -> web.Response:
        """Answer one Web API request and record it."""
        at = time.monotonic()
        method = request.match_info["method"]
        incoming = await _read_incoming(request)
        answer = self._answer(method, incoming, at)
        self._record(method, incoming.args, incoming.token, at, answer)
        if self._delays.get(method):
            released = self._released.setdefault(method, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), self._delays[method])
        return answer.response()

    async def _on_response_url(self, request: web.Request) -> web.Response:
        """Record a post to a response_url and answer plain `ok`, as Slack does."""
        at = time.monotonic()
        key = request.match_info["key"]
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        args: JsonDict = dict(body) if isinstance(body, dict) else {"_raw": raw.decode()}
        args["_key"] = key
        fault = self._take_fault("response_url")
        if fault is not None:
            answer = self._fault_answer(fault)
        elif isinstance(body, dict):
            answer = _Answer(200, "ok", None)
        else:
            answer = _Answer(400, "invalid_payload", "invalid_payload")
        self._record("response_url", args, None, at, answer)
        return answer.response()

    async def _on_openid_authorize(self, request: web.Request) -> web.Response:
        """Slack's consent screen for Sign in with Slack, answered at once for the person set
        with `sign_in_as`: back to the redirect URI with a code (or `error=access_denied`)."""
        at = time.monotonic()
        args: JsonDict = dict(request.query)
        problem = None
        if args.get("response_type") != "code":
            problem = "invalid_response_type"
        elif _blank(args.get("client_id")):
            problem = "invalid_client_id"
        elif "openid" not in str(args.get("scope", "")).replace(" ", ",").split(","):
            problem = "invalid_scope"
        elif not str(args.get("redirect_uri", "")).startswith(("http://", "https://")):
            problem = "bad_redirect_uri"
        elif self._openid_user is None or self._openid_user not in self._users:
            problem = "no_user_signed_in"
        if problem is not None:
            self._record("openid.authorize", args, None, at, _Answer(400, problem, problem))
            return web.Response(status=400, text=f"Sign in with Slack failed: {problem}")
        back: JsonDict = {"state": args.get("state", "")}
        if self._openid_denied:
            back["error"] = "access_denied"
        else:
            code = f"openid-{uuid.uuid4().hex}"
            self._openid_codes[code] = _OpenIDCode(
                self._openid_user,
                str(args["client_id"]),
                str(args["redirect_uri"]),
                args.get("nonce"),
            )
            back["code"] = code
        self._record("openid.authorize", args, None, at, _Answer(302, "", None))
        location = f"{args['redirect_uri']}?{urlencode(back)}"
        return web.Response(status=302, headers={"Location": location})

    async def _on_upload(self, request: web.Request) -> web.Response:
        """Take the bytes files_upload_v2 sends to the URL files.getUploadURLExternal gave."""
        at = time.monotonic()
        file_id = request.match_info["file_id"]
        data = await request.read()
        args: JsonDict = {"_file_id": file_id, "content": data.decode("utf-8", errors="replace")}
        upload = self._uploads.get(file_id)
        fault = self._take_fault("file_upload")
        if fault is not None:
            answer = self._fault_answer(fault)
        elif upload is None:
            answer = _Answer(404, "file not found", "http_404")
        else:
            upload.content = data
            answer = _Answer(200, f"OK - {len(data)}", None)
        self._record("file_upload", args, None, at, answer)
        return answer.response()

    def _record(
        self, method: str, args: JsonDict, token: str | None, at: float, answer: _Answer
    ) -> None:
        """Keep every request, rejected ones included, with what was answered."""
        call = Call(method, dict(args), token, at, answer.status, answer.error)
        self.calls.append(call)
        self._calls_by_method.setdefault(method, []).append(call)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    def _take_fault(self, method: str) -> _Fault | None:
        """Use up one scripted failure for a method, if any is owed."""
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    @staticmethod
    def _fault_answer(fault: _Fault) -> _Answer:
        """Render a scripted failure the way Slack's edge or API would."""
        if fault.status == 429:
            return _rate_limited(fault.retry_after)
        if fault.status == 200:
            return _json_answer(_error(fault.error or "internal_error"))
        try:
            phrase = http.HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "error"
        return _Answer(fault.status, fault.error or phrase, f"http_{fault.status}")

    def _answer(self, method: str, incoming: _Incoming, at: float) -> _Answer:
        """Decide the reply in Slack's order: edge limits, method, auth, arguments, handler."""
        fault = self._take_fault(method)
        if fault is not None:
            return self._fault_answer(fault)
        if (
            method == "chat.postMessage"
            and self._random_429_rate > 0
            and self._random.random() < self._random_429_rate
        ):
            return _rate_limited(1)
        handler = self._methods.get(method)
        if handler is None:
            return _json_answer(_error("unknown_method"))
        if incoming.problem is not None:
            return _json_answer(_error(incoming.problem))
        install = self._installs[self.bot_token]
        if method in USER_TOKEN_METHODS:
            if incoming.token is None:
                return _json_answer(_error("not_authed"))
            user_id = self._user_tokens.get(incoming.token)
            if user_id is None:
                return _json_answer(_error("invalid_auth"))
            user = self._users[user_id]
            return _json_answer(_ok(sub=user.user_id, **self._identity(user)))
        elif method not in NO_TOKEN_METHODS:
            if incoming.token is None:
                return _json_answer(_error("not_authed"))
            if incoming.token in self._revoked:
                return _json_answer(_error("token_revoked"))
            known = self._installs.get(incoming.token)
            if known is None:
                return _json_answer(_error("invalid_auth"))
            install = known
        problem = _missing(
            incoming.args, *spec_required_args(method), *_OWN_REQUIRED.get(method, ())
        )
        if problem is not None:
            return _json_answer(problem)
        if method == "chat.postMessage" and self._channel_limited(incoming.args, at):
            return _rate_limited(1)
        try:
            body = handler(incoming.args, install)
        except Exception as exc:
            return _Answer(
                500, f"SlackDouble failed on {method}: {exc!r}", f"double_error: {exc!r}"
            )
        if method == "chat.postMessage" and body.get("ok"):
            self._last_post_at[str(body["channel"])] = at
        return _json_answer(body)

    def _channel_limited(self, args: JsonDict, at: float) -> bool:
        """Whether this post comes too soon after the last accepted one to that channel."""
        if self._channel_interval is None or _blank(args.get("channel")):
            return False
        last = self._last_post_at.get(self._resolve_channel(_text(args, "channel")))
        return last is not None and at - last < self._channel_interval

    # -- helpers for handlers -----------------------------------------------

    def _next_ts(self) -> str:
        """A message ts: current time in microseconds, strictly increasing like Slack's."""
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        """A fresh Slack-looking id such as F0000000007."""
        return f"{prefix}{next(self._ids):010d}"

    def _resolve_channel(self, channel: str) -> str:
        """Posting to a user id lands in the bot's DM with them, as on Slack."""
        if channel[:1] in ("U", "W"):
            return self.dm_id(channel)
        return channel

    def _team(self, team_id: str) -> _Team:
        """A workspace's details, made up from its id when never set."""
        return self._teams.get(team_id) or _Team(team_id, f"Team {team_id}", team_id.lower())

    def _bot_message(
        self, install: _Install, ts: str, text: str, blocks: list[Any], args: JsonDict
    ) -> JsonDict:
        """The `message` object Slack returns for a message allybot posted."""
        message: JsonDict = {
            "user": install.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": install.bot_id,
            "app_id": APP_ID,
            "text": text or ("This content can't be displayed." if blocks else ""),
            "team": install.team_id,
            "bot_profile": {
                "id": install.bot_id,
                "app_id": APP_ID,
                "name": "allybot",
                "deleted": False,
                "team_id": install.team_id,
            },
        }
        if blocks:
            message["blocks"] = blocks
        attachments = _parse_json_list(args.get("attachments"))
        if attachments:
            message["attachments"] = attachments
        if not _blank(args.get("thread_ts")):
            message["thread_ts"] = _text(args, "thread_ts")
        return message

    def _message_content(
        self, args: JsonDict, *, require: bool = True
    ) -> tuple[str, list[Any], JsonDict | None]:
        """Text and blocks of a message, or the error Slack gives for them."""
        blocks, problem = _check_blocks(args.get("blocks"), MESSAGE_BLOCK_LIMIT, "/blocks")
        if problem is not None:
            return "", [], problem
        text = _text(args, "text")
        if require and not text and not blocks and not _parse_json_list(args.get("attachments")):
            return "", [], _error("no_text")
        if len(text) > TEXT_LIMIT:
            return "", [], _error("msg_too_long")
        return text, blocks, None

    def _channel_refuses(self, channel: str) -> JsonDict | None:
        """The error Slack gives for posting where allybot cannot."""
        if channel in self._not_in_channel:
            return _error("not_in_channel")
        info = self._channels.get(channel)
        if info is not None and info.is_archived:
            return _error("is_archived")
        return None

    def _channel_object(self, channel: str) -> JsonDict:
        """The conversation object of conversations.info."""
        if channel in self._dm_users:
            return {
                "id": channel,
                "created": 1764150000,
                "is_im": True,
                "is_org_shared": False,
                "user": self._dm_users[channel],
                "is_user_deleted": False,
                "priority": 0,
            }
        info = self._channels.get(channel) or _Channel(channel, channel.lower())
        is_mpim = channel in self._group_dms
        return {
            "id": channel,
            "name": info.name,
            "is_channel": not info.is_private and not is_mpim,
            "is_group": info.is_private,
            "is_im": False,
            "is_mpim": is_mpim,
            "is_private": info.is_private or is_mpim,
            "created": 1764150000,
            "is_archived": info.is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": info.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": channel not in self._not_in_channel,
            "creator": "U0CREATOR",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _parse_view(
        self, args: JsonDict, expected_type: str | None
    ) -> tuple[JsonDict, JsonDict | None]:
        """Decode and check a view argument, as Slack does before showing it."""
        raw = args.get("view")
        view: Any = raw
        if isinstance(raw, str):
            try:
                view = json.loads(raw)
            except ValueError:
                view = None
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return {}, _error(
                "invalid_arguments",
                "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
            )
        if expected_type is not None and view["type"] != expected_type:
            return {}, _error(
                "invalid_arguments",
                f"[ERROR] must be '{expected_type}' [json-pointer:/view/type]",
            )
        _, problem = _check_blocks(view.get("blocks"), VIEW_BLOCK_LIMIT, "/view/blocks")
        return view, problem

    def _store_view(self, view_id: str, view: JsonDict, install: _Install) -> JsonDict:
        """Keep a view as Slack returns it, so views.update can find it later."""
        stored: JsonDict = {
            "id": view_id,
            "team_id": install.team_id,
            "type": view["type"],
            "blocks": _parse_json_list(view.get("blocks")) or [],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._ids):08x}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": install.team_id,
            "bot_id": install.bot_id,
        }
        self._views[view_id] = stored
        return stored

    # -- Web API methods ---------------------------------------------------

    def _api_test(self, args: JsonDict, install: _Install) -> JsonDict:
        """Echo arguments back; Slack's api.test needs no token."""
        if not _blank(args.get("error")):
            return _error(_text(args, "error"))
        return _ok(args=args) if args else _ok()

    def _auth_test(self, args: JsonDict, install: _Install) -> JsonDict:
        """Identify the token's workspace and bot, which Bolt's authorize step relies on."""
        team = self._team(install.team_id)
        bot_user = self._users.get(install.bot_user_id)
        answer = _ok(
            url=f"https://{team.domain}.slack.com/",
            team=team.name,
            user=bot_user.name if bot_user else "allybot",
            team_id=install.team_id,
            user_id=install.bot_user_id,
            bot_id=install.bot_id,
            is_enterprise_install=install.is_enterprise_install,
        )
        if install.enterprise_id is not None:
            answer["enterprise_id"] = install.enterprise_id
        return answer

    def _users_info(self, args: JsonDict, install: _Install) -> JsonDict:
        """Profile and time zone of a known user, `user_not_found` otherwise."""
        user = self._users.get(_text(args, "user"))
        if user is None:
            return _error("user_not_found")
        obj = _user_object(user)
        if _flag(args, "include_locale"):  # Slack adds the locale only when asked
            obj["locale"] = user.locale
        enterprise_id = self._team(user.team_id).enterprise_id
        if enterprise_id is not None:
            # Enterprise Grid members carry their org and the org's workspaces they are in
            # (here: every workspace of the org the double knows, their own first).
            org = {t.team_id for t in self._teams.values() if t.enterprise_id == enterprise_id}
            obj["enterprise_user"] = {
                "id": user.user_id,
                "enterprise_id": enterprise_id,
                "enterprise_name": f"Enterprise {enterprise_id}",
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_primary_owner": False,
                "teams": [user.team_id, *sorted(org - {user.team_id})],
            }
        return _ok(user=obj)

    def _users_profile_get(self, args: JsonDict, install: _Install) -> JsonDict:
        """A person's profile with their custom fields (`fields`: id -> value and alt), as
        users.profile.get gives it; a bot token must name the user."""
        user = self._users.get(_text(args, "user"))
        if user is None:
            return _error("user_not_found")
        profile = dict(_user_object(user)["profile"])
        values = self._profile_values.get(user.user_id)
        profile["fields"] = (
            {fid: {"value": value, "alt": ""} for fid, value in values.items()} if values else {}
        )
        return _ok(profile=profile)

    def _team_profile_get(self, args: JsonDict, install: _Install) -> JsonDict:
        """The workspace's custom profile field definitions."""
        return _ok(profile={"fields": list(self._profile_fields), "sections": []})

    def _users_conversations(self, args: JsonDict, install: _Install) -> JsonDict:
        """Channels a person is in (allybot itself without `user`), paginated by cursor."""
        who = _text(args, "user") or install.bot_user_id
        ids = [
            cid
            for cid, members in self._members.items()
            if who in members and cid not in self._group_dms and cid not in self._dm_users
        ]
        page = _page(ids, args)
        if isinstance(page, dict):
            return page
        found, next_cursor = page
        return _ok(
            channels=[self._channel_object(cid) for cid in found],
            response_metadata={"next_cursor": next_cursor},
        )

    def _chat_post_message(self, args: JsonDict, install: _Install) -> JsonDict:
        """Post a message; user ids land in the DM, refusals mirror Slack's."""
        text, blocks, problem = self._message_content(args)
        if problem is not None:
            return problem
        if _blank(args.get("channel")):
            return _error("channel_not_found")
        channel = self._resolve_channel(_text(args, "channel"))
        refusal = self._channel_refuses(channel)
        if refusal is not None:
            return refusal
        metadata, problem = _parse_metadata(args.get("metadata"))
        if problem is not None:
            return problem
        ts = self._next_ts()
        message = self._bot_message(install, ts, text, blocks, args)
        if metadata is not None:
            message["metadata"] = metadata
        self._messages[(channel, ts)] = message
        return _ok(channel=channel, ts=ts, message=message)

    def _chat_post_ephemeral(self, args: JsonDict, install: _Install) -> JsonDict:
        """Post a message only one user sees; Slack returns just its message_ts."""
        _, _, problem = self._message_content(args)
        if problem is not None:
            return problem
        if _blank(args.get("channel")):
            return _error("channel_not_found")
        if _blank(args.get("user")):
            return _error("user_not_found")
        channel = self._resolve_channel(_text(args, "channel"))
        refusal = self._channel_refuses(channel)
        if refusal is not None:
            return refusal
        members = self._members.get(channel)
        if members is not None and _text(args, "user") not in members:
            return _error("user_not_in_channel")
        return _ok(message_ts=self._next_ts())

    def _chat_update(self, args: JsonDict, install: _Install) -> JsonDict:
        """Edit a message; a deleted one answers `message_not_found`."""
        text, blocks, problem = self._message_content(args)
        if problem is not None:
            return problem
        if _blank(args.get("channel")):
            return _error("channel_not_found")
        if _blank(args.get("ts")):
            return _error("message_not_found")
        channel = self._resolve_channel(_text(args, "channel"))
        ts = _text(args, "ts")
        previous = self._messages.get((channel, ts))
        if previous is not None and previous.get("_deleted"):
            return _error("message_not_found")
        message = self._bot_message(install, ts, text, blocks, args)
        message["edited"] = {"user": install.bot_user_id, "ts": self._next_ts()}
        if previous is not None and "metadata" in previous:  # kept unless replaced
            message["metadata"] = previous["metadata"]
        self._messages[(channel, ts)] = message
        return _ok(channel=channel, ts=ts, text=message["text"], message=message)

    def _chat_delete(self, args: JsonDict, install: _Install) -> JsonDict:
        """Delete a message; deleting twice answers `message_not_found`."""
        if _blank(args.get("channel")):
            return _error("channel_not_found")
        if _blank(args.get("ts")):
            return _error("message_not_found")
        channel = self._resolve_channel(_text(args, "channel"))
        ts = _text(args, "ts")
        previous = self._messages.get((channel, ts))
        if previous is not None and previous.get("_deleted"):
            return _error("message_not_found")
        self._messages[(channel, ts)] = {"_deleted": True}
        return _ok(channel=channel, ts=ts)

    def _chat_get_permalink(self, args: JsonDict, install: _Install) -> JsonDict:
        """A permalink in Slack's archives URL form."""
        if _blank(args.get("channel")):
            return _error("channel_not_found")
        if _blank(args.get("message_ts")):
            return _error("message_not_found")
        channel = self._resolve_channel(_text(args, "channel"))
        ts = _text(args, "message_ts")
        domain = self._team(install.team_id).domain
        permalink = f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return _ok(channel=channel, permalink=permalink)

    def _conversations_open(self, args: JsonDict, install: _Install) -> JsonDict:
        """Open a DM (one user) or group DM (several), with stable ids."""
        if not _blank(args.get("channel")):
            return _ok(no_op=True, already_open=True, channel={"id": _text(args, "channel")})
        if _blank(args.get("users")):
            return _error("users_list_not_supplied")
        users = [u.strip() for u in _text(args, "users").split(",") if u.strip()]
        if len(users) > 8:
            return _error("too_many_users")
        for user_id in users:
            known = self._users.get(user_id)
            if known is not None and known.deleted:
                return _error("user_disabled")
        if len(users) == 1:
            channel = self.dm_id(users[0])
        else:
            channel = group_dm_id([*users, install.bot_user_id])
            self._group_dms.add(channel)
            self._members.setdefault(channel, [*users, install.bot_user_id])
        return _ok(no_op=False, already_open=False, channel={"id": channel})

    def _conversations_members(self, args: JsonDict, install: _Install) -> JsonDict:
        """Members of a channel, paginated with an opaque cursor like Slack's."""
        channel = _text(args, "channel")
        if not channel:
            return _error("channel_not_found")
        if channel in self._dm_users:
            members = [self._dm_users[channel], install.bot_user_id]
        else:
            members = self._members.get(channel, [])
        page = _page(members, args)
        if isinstance(page, dict):
            return page
        found, next_cursor = page
        return _ok(members=found, response_metadata={"next_cursor": next_cursor})

    def _conversations_history(self, args: JsonDict, install: _Install) -> JsonDict:
        """A conversation's messages newest first, between `oldest` and `latest`, paginated
        with a cursor; message metadata only with `include_all_metadata`."""
        channel = _text(args, "channel")
        if not channel or channel[:1] in ("U", "W"):
            return _error("channel_not_found")
        refusal = self._channel_refuses(channel)
        if refusal is not None:
            return refusal
        try:
            oldest = float(_text(args, "oldest") or 0)
            latest = float(_text(args, "latest") or "inf")
            limit = max(1, min(int(args.get("limit") or 100), 999))
            start = int(base64.b64decode(_text(args, "cursor")).decode().removeprefix("ts:") or 0)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return _error("invalid_arguments")
        inclusive = _arg_matches(args.get("inclusive"), True)
        metadata = _arg_matches(args.get("include_all_metadata"), True)
        found = sorted(
            (
                m
                for (c, ts), m in self._messages.items()
                if c == channel
                and not m.get("_deleted")
                and (oldest <= float(ts) if inclusive else oldest < float(ts))
                and (float(ts) <= latest if inclusive else float(ts) < latest)
            ),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        page = found[start : start + limit]
        more = start + limit < len(found)
        cursor = base64.b64encode(f"ts:{start + limit}".encode()).decode() if more else ""
        messages = [
            m if metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page
        ]
        return _ok(
            messages=messages,
            has_more=more,
            pin_count=0,
            response_metadata={"next_cursor": cursor},
        )

    def _conversations_info(self, args: JsonDict, install: _Install) -> JsonDict:
        """Describe a channel or IM."""
        channel = _text(args, "channel")
        if not channel:
            return _error("channel_not_found")
        return _ok(channel=self._channel_object(channel))

    def _reactions_add(self, args: JsonDict, install: _Install) -> JsonDict:
        """Add a reaction; the same one twice answers `already_reacted`."""
        if _blank(args.get("channel")):
            return _error("channel_not_found")
        if _blank(args.get("timestamp")):
            return _error("message_not_found")
        if _blank(args.get("name")):
            return _error("invalid_name")
        channel = self._resolve_channel(_text(args, "channel"))
        refusal = self._channel_refuses(channel)
        if refusal is not None:
            return refusal
        key = (channel, _text(args, "timestamp"), _text(args, "name").strip(":"))
        if key in self._reactions:
            return _error("already_reacted")
        self._reactions.add(key)
        return _ok()

    def _reactions_remove(self, args: JsonDict, install: _Install) -> JsonDict:
        """Remove a reaction; one never added answers `no_reaction`."""
        if _blank(args.get("name")):
            return _error("invalid_name")
        if _blank(args.get("channel")) or _blank(args.get("timestamp")):
            return _error("no_item_specified")
        channel = self._resolve_channel(_text(args, "channel"))
        key = (channel, _text(args, "timestamp"), _text(args, "name").strip(":"))
        if key not in self._reactions:
            return _error("no_reaction")
        self._reactions.discard(key)
        return _ok()

    def _views_publish(self, args: JsonDict, install: _Install) -> JsonDict:
        """Publish a Home tab; each user keeps one view id across publishes."""
        view, problem = self._parse_view(args, "home")
        if problem is not None:
            return problem
        absent = _missing(args, "user_id")
        if absent is not None:
            return absent
        user_id = _text(args, "user_id")
        view_id = self._home_views.get(user_id) or self._next_id("V")
        previous = self._views.get(view_id)
        if (
            previous is not None
            and not _blank(args.get("hash"))
            and args["hash"] != previous["hash"]
        ):
            return _error("hash_conflict")
        self._home_views[user_id] = view_id
        return _ok(view=self._store_view(view_id, view, install))

    def _views_open(self, args: JsonDict, install: _Install) -> JsonDict:
        """Open a modal from a trigger."""
        view, problem = self._parse_view(args, "modal")
        if problem is not None:
            return problem
        absent = _missing(args, "trigger_id")
        if absent is not None:
            return absent
        return _ok(view=self._store_view(self._next_id("V"), view, install))

    def _views_push(self, args: JsonDict, install: _Install) -> JsonDict:
        """Push a modal onto the stack from a trigger."""
        view, problem = self._parse_view(args, "modal")
        if problem is not None:
            return problem
        absent = _missing(args, "trigger_id")
        if absent is not None:
            return absent
        return _ok(view=self._store_view(self._next_id("V"), view, install))

    def _views_update(self, args: JsonDict, install: _Install) -> JsonDict:
        """Replace a view found by view_id or external_id, honouring `hash`."""
        view, problem = self._parse_view(args, None)
        if problem is not None:
            return problem
        view_id = _text(args, "view_id")
        external_id = _text(args, "external_id")
        if not view_id and not external_id:
            return _error("invalid_arguments", "[ERROR] missing required field: view_id")
        if not view_id:
            view_id = next(
                (k for k, v in self._views.items() if v.get("external_id") == external_id), ""
            )
        previous = self._views.get(view_id)
        if previous is None:
            return _error("not_found")
        if not _blank(args.get("hash")) and args["hash"] != previous["hash"]:
            return _error("hash_conflict")
        return _ok(view=self._store_view(view_id, view, install))

    def _team_info(self, args: JsonDict, install: _Install) -> JsonDict:
        """Workspace name and domain."""
        team = self._team(_text(args, "team") or install.team_id)
        body: JsonDict = {
            "id": team.team_id,
            "name": team.name,
            "url": f"https://{team.domain}.slack.com/",
            "domain": team.domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "avatar_base_url": "https://ca.slack-edge.com/",
            "is_verified": False,
        }
        if team.enterprise_id is not None:
            body["enterprise_id"] = team.enterprise_id
            body["enterprise_name"] = f"Enterprise {team.enterprise_id}"
        return _ok(team=body)

    def _oauth_v2_access(self, args: JsonDict, install: _Install) -> JsonDict:
        """Exchange a scripted code for a bot token, which then works on every method."""
        if _blank(args.get("client_id")):
            return _error("invalid_client_id")
        grant = self._oauth_grants.pop(_text(args, "code"), None)
        if grant is None:
            return _error("invalid_code")
        enterprise = (
            None
            if grant.enterprise_id is None
            else {"id": grant.enterprise_id, "name": f"Enterprise {grant.enterprise_id}"}
        )
        if grant.org_wide and grant.enterprise_id is not None:
            # An org-wide install belongs to the org, not a workspace: Slack sends no team.
            self.add_token(
                grant.bot_token,
                grant.enterprise_id,
                grant.bot_user_id,
                enterprise_id=grant.enterprise_id,
                org_wide=True,
            )
            team: JsonDict | None = None
        else:
            self.add_token(
                grant.bot_token, grant.team_id, grant.bot_user_id, enterprise_id=grant.enterprise_id
            )
            if grant.team_id not in self._teams:
                self.set_team(
                    grant.team_id, name=grant.team_name, enterprise_id=grant.enterprise_id
                )
            team = {"id": grant.team_id, "name": grant.team_name}
        return _ok(
            app_id=APP_ID,
            authed_user={"id": grant.authed_user_id},
            scope=grant.scope,
            token_type="bot",
            access_token=grant.bot_token,
            bot_user_id=grant.bot_user_id,
            team=team,
            enterprise=enterprise,
            is_enterprise_install=grant.org_wide,
        )

    def _openid_connect_token(self, args: JsonDict, install: _Install) -> JsonDict:
        """Exchange a Sign in with Slack code (once) for a user token and an id token."""
        grant = self._openid_codes.get(_text(args, "code"))
        if grant is None:
            return _error("invalid_code")
        if _text(args, "client_id") != grant.client_id or _blank(args.get("client_secret")):
            return _error("invalid_client_id")
        if not _blank(args.get("redirect_uri")) and args["redirect_uri"] != grant.redirect_uri:
            return _error("bad_redirect_uri")
        del self._openid_codes[_text(args, "code")]
        user = self._users[grant.user_id]
        token = f"xoxp-{uuid.uuid4().hex}"
        self._user_tokens[token] = grant.user_id
        claims: JsonDict = {
            "iss": "https://slack.com",
            "sub": user.user_id,
            "aud": grant.client_id,
            "exp": int(time.time()) + 3600,
            "iat": int(time.time()),
            "auth_time": int(time.time()),
            **self._identity(user),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        return _ok(access_token=token, token_type="Bearer", id_token=_unsigned_jwt(claims))

    def _openid_connect_user_info(self, args: JsonDict, install: _Install) -> JsonDict:
        """Listed for `methods()`; answered in `_answer`, which alone sees the user token."""
        return _error("not_allowed_token_type")

    def _identity(self, user: _User) -> JsonDict:
        """The claims Slack returns for the `openid` and `profile` scopes."""
        team = self._team(user.team_id)
        first, _, last = user.real_name.partition(" ")
        avatar = hashlib.md5(user.user_id.encode()).hexdigest()[:12]
        claims: JsonDict = {
            "https://slack.com/user_id": user.user_id,
            "https://slack.com/team_id": user.team_id,
            "name": user.real_name,
            "picture": f"https://secure.gravatar.com/avatar/{avatar}.jpg?s=512",
            "given_name": first,
            "family_name": last,
            "locale": "en-US",
            "https://slack.com/team_name": team.name,
            "https://slack.com/team_domain": team.domain,
            "https://slack.com/user_image_72": f"https://avatars.slack-edge.com/{avatar}_72.png",
            "https://slack.com/team_image_default": True,
        }
        if team.enterprise_id is not None:
            claims["https://slack.com/enterprise_id"] = team.enterprise_id
        return claims

    def _files_get_upload_url_external(self, args: JsonDict, install: _Install) -> JsonDict:
        """Hand out an upload URL on the double, step one of files_upload_v2."""
        try:
            length = int(_text(args, "length"))
        except (TypeError, ValueError):
            return _error("invalid_arguments", "[ERROR] length must be an integer")
        file_id = self._next_id("F")
        self._uploads[file_id] = _Upload(file_id, _text(args, "filename"), length)
        return _ok(upload_url=f"{self.origin}/upload/{file_id}", file_id=file_id)

    def _files_complete_upload_external(self, args: JsonDict, install: _Install) -> JsonDict:
        """Finish uploads and describe the files, step three of files_upload_v2."""
        entries = _parse_json_list(args.get("files"))
        if not entries or not all(isinstance(e, dict) and e.get("id") for e in entries):
            return _error("invalid_arguments", "[ERROR] files must be an array of {id, title}")
        files: list[JsonDict] = []
        domain = self._team(install.team_id).domain
        now = int(time.time())
        for entry in entries:
            upload = self._uploads.get(str(entry["id"]))
            if upload is None:
                return _error("file_not_found")
            if upload.content is None:
                return _error("file_upload_not_completed")
            mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
            ext = upload.filename.rpartition(".")[2] if "." in upload.filename else "binary"
            files.append(
                {
                    "id": upload.file_id,
                    "created": now,
                    "timestamp": now,
                    "name": upload.filename,
                    "title": entry.get("title") or upload.filename,
                    "mimetype": mimetype,
                    "filetype": ext,
                    "pretty_type": ext.upper(),
                    "user": install.bot_user_id,
                    "user_team": install.team_id,
                    "editable": mimetype.startswith("text/"),
                    "size": len(upload.content),
                    "mode": "hosted",
                    "is_external": False,
                    "external_type": "",
                    "is_public": False,
                    "public_url_shared": False,
                    "display_as_bot": False,
                    "username": "",
                    "url_private": f"https://files.slack.com/files-pri/{install.team_id}-"
                    f"{upload.file_id}/{upload.filename}",
                    "permalink": f"https://{domain}.slack.com/files/{install.bot_user_id}/"
                    f"{upload.file_id}/{upload.filename}",
                    "comments_count": 0,
                    "shares": {},
                    "channels": [],
                    "groups": [],
                    "ims": [],
                    "has_more_shares": False,
                    "has_rich_preview": False,
                    "file_access": "visible",
                }
            )
        return _ok(files=files)


async def _serve(args: argparse.Namespace) -> None:
    """Run the double until SIGTERM or SIGINT, for benchmark scripts."""
    slack = SlackDouble(
        bot_token=args.bot_token,
        team_id=args.team_id,
        bot_user_id=args.bot_user_id,
        host=args.host,
        port=args.port,
    )
    if args.channel_rate_limit:
        slack.channel_rate_limit(args.channel_rate_limit)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with slack:
        print(f"SLACK_API_URL={slack.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the base URL, then serve."""
    parser = argparse.ArgumentParser(description="Local stand-in for Slack's Web API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bot-token", default="xoxb-test")
    parser.add_argument("--team-id", default="T0001")
    parser.add_argument("--bot-user-id", default="UALLYBOT")
    parser.add_argument(
        "--channel-rate-limit",
        type=float,
        default=None,
        help="messages per second per channel before chat.postMessage answers 429",
    )
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
