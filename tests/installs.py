"""Installing allybot in workspaces through its OAuth flow, as a browser and Slack would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from tests.conftest import server_env

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret"
STATE_COOKIE = "slack-app-oauth-state"


def oauth_env(database_url: str, slack_url: str, **extra: str) -> dict[str, str]:
    """An environment for many workspaces: the app's client pair instead of a bot token."""
    env = server_env(database_url, slack_url, **extra)
    env.pop("SLACK_BOT_TOKEN", None)
    env.update(SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET)
    return env


@dataclass(frozen=True)
class Started:
    """What GET /slack/install handed the browser: Slack's authorize URL and the cookie."""

    status: int
    location: str
    state: str
    cookie_state: str


async def begin_install(http: aiohttp.ClientSession, base_url: str) -> Started:
    async with http.get(f"{base_url}/slack/install", allow_redirects=False) as resp:
        location = resp.headers.get("Location", "")
        cookie: SimpleCookie = SimpleCookie()
        for header in resp.headers.getall("Set-Cookie", []):
            cookie.load(header)
        state = parse_qs(urlsplit(location).query).get("state", [""])[0]
        cookie_state = cookie[STATE_COOKIE].value if STATE_COOKIE in cookie else ""
        return Started(resp.status, location, state, cookie_state)


async def finish_install(
    http: aiohttp.ClientSession,
    base_url: str,
    *,
    code: str,
    state: str,
    cookie_state: str | None = None,
) -> tuple[int, str]:
    """Slack sends the browser back with a code and the state; the browser sends its cookie."""
    query = urlencode({"code": code, "state": state})
    headers = {"Cookie": f"{STATE_COOKIE}={cookie_state if cookie_state is not None else state}"}
    async with http.get(
        f"{base_url}/slack/oauth_redirect?{query}", headers=headers, allow_redirects=False
    ) as resp:
        return resp.status, await resp.text()


def new_token(team_id: str) -> str:
    return f"xoxb-{team_id.lower()}-{uuid.uuid4().hex[:12]}"
