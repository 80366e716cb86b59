"""Signing in to the dashboard as a browser would, through the Slack double's Sign in with
Slack stand-in, and a server for many workspaces to sign in to."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.conftest import Server, Team
from tests.slack_double import SlackDouble
from tests.test_oauth_e2e import install

SESSION = "allybot_dashboard"
STATE = "allybot_dashboard_state"


@dataclass
class Workspace:
    """A workspace with allybot installed through the OAuth flow, an admin and a member."""

    team: Team
    token: str
    admin: str
    member: str


async def installed(server: Server, slack: SlackDouble, name: str = "Acme") -> Workspace:
    team = Team(slack=slack)
    token = await install(server, slack, team.team_id, name)
    admin = team.user("ada.admin", is_admin=True)
    member = team.user("max.member")
    return Workspace(team=team, token=token, admin=admin, member=member)


def cookies_of(resp: aiohttp.ClientResponse) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


@dataclass(frozen=True)
class Begun:
    """What GET /dashboard/signin handed the browser."""

    location: str
    state: str
    cookie_state: str
    set_cookie: str


async def begin(http: aiohttp.ClientSession, base_url: str) -> Begun:
    async with http.get(f"{base_url}/dashboard/signin", allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
        jar = cookies_of(resp)
        raw = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(STATE))
    state = parse_qs(urlsplit(location).query)["state"][0]
    return Begun(location, state, jar[STATE].value, raw)


async def authorize(http: aiohttp.ClientSession, location: str) -> str:
    """The double's consent screen: the URL it sends the browser back to."""
    async with http.get(location, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def callback(
    http: aiohttp.ClientSession, back: str, cookie_state: str | None
) -> tuple[int, str, SimpleCookie]:
    headers = {"Cookie": f"{STATE}={cookie_state}"} if cookie_state is not None else {}
    async with http.get(back, headers=headers, allow_redirects=False) as resp:
        return resp.status, await resp.text(), cookies_of(resp)


async def sign_in(server: Server, slack: SlackDouble, user_id: str) -> str:
    """The whole flow for one person; their session cookie's value."""
    slack.sign_in_as(user_id)
    begun = await begin(server.http, server.url)
    back = await authorize(server.http, begun.location)
    status, page, jar = await callback(server.http, back, begun.cookie_state)
    assert status == 303, page
    return jar[SESSION].value


async def fetch(
    server: Server, path: str, session: str | None = None, **kw: object
) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    """GET a dashboard path with a session cookie, following no redirect."""
    headers = {"Cookie": f"{SESSION}={session}"} if session else {}
    async with server.http.get(
        f"{server.url}{path}", headers=headers, allow_redirects=False, **kw
    ) as resp:
        return resp.status, await resp.text(), resp.headers


async def submit(
    server: Server, path: str, session: str | None, form: dict[str, str]
) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    """POST a form with a session cookie, following no redirect."""
    headers = {"Cookie": f"{SESSION}={session}"} if session else {}
    async with server.http.post(
        f"{server.url}{path}", data=form, headers=headers, allow_redirects=False
    ) as resp:
        return resp.status, await resp.text(), resp.headers


def csrf_of(page: str) -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)
