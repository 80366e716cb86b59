"""What the dashboard leaves behind: anonymous visits cannot grow the states table without
bound, the scheduler's pass deletes expired states and sessions, and /dashboard/me shows a
promise as the words Slack shows, not its stored markup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from sqlalchemy import func, insert, select

from bot.dashboard.signin import STATE_SECONDS, OpenStates, TooManySignIns
from bot.db import Database
from bot.models import SLACK_OAUTH_STATES, DashboardSession
from scheduler.planner import run_pass
from tests.conftest import Server, start_server, stopped
from tests.dashboard import fetch, installed, sign_in
from tests.helpers import running_bot
from tests.slack_double import SlackDouble
from tests.test_dm_budget_e2e import promise


def test_open_states_are_bounded_per_address_and_forgotten_when_back_or_old() -> None:
    states = OpenStates(per_address=3, in_all=5)
    tickets = [states.admit("10.0.0.1", 0.0) for _ in range(3)]  # reserved before issuing
    with pytest.raises(TooManySignIns):
        states.admit("10.0.0.1", 1.0)
    for i, ticket in enumerate(tickets):
        states.issued(ticket, f"s{i}")
    states.returned("s0")  # a finished sign-in frees its place
    states.issued(states.admit("10.0.0.1", 1.0), "s3")
    states.admit("10.0.0.2", 1.0)
    states.admit("10.0.0.2", 1.0)
    with pytest.raises(TooManySignIns):  # five open in all
        states.admit("10.0.0.3", 1.0)
    states.admit("10.0.0.1", STATE_SECONDS + 1.0)  # the old ones expired with their states
    states.admit("10.0.0.3", STATE_SECONDS + 1.0)


async def _count_states(db: Database) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(SLACK_OAUTH_STATES)
        return int((await session.execute(query)).scalar_one())


@pytest.fixture
async def own_server(
    fresh_db: tuple[str, Database], slack: SlackDouble, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, Database]]:
    """A server of its own: the test uses up its address's sign-ins."""
    from tests.installs import oauth_env

    url, db = fresh_db
    log_path = tmp_path_factory.mktemp("upkeep") / "allybot.log"
    process, base = await start_server(oauth_env(url, slack.url), log_path, "--tick-seconds", "0")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield Server(url=base, process=process, log_path=log_path, http=http), db
    await stopped(process)


async def test_anonymous_sign_in_visits_are_bounded(
    own_server: tuple[Server, Database], slack: SlackDouble
) -> None:
    server, db = own_server
    before = await _count_states(db)
    statuses: list[int] = []

    async def hit() -> None:
        url = f"{server.url}/dashboard/signin"
        async with server.http.get(url, allow_redirects=False) as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert resp.headers["Retry-After"] == str(STATE_SECONDS)
                assert "Too many sign-ins" in await resp.text()

    for _ in range(5):
        await asyncio.gather(*(hit() for _ in range(20)))
    made = await _count_states(db) - before
    assert made == statuses.count(302) <= 30 and statuses.count(429) == 100 - made


async def test_the_pass_deletes_expired_states_and_sessions(
    fresh_db: tuple[str, Database], slack: SlackDouble
) -> None:
    url, db = fresh_db
    now = datetime.now(UTC)
    async with db.session() as session:
        for name, when in (
            ("old", now - timedelta(seconds=1)),
            ("live", now + timedelta(minutes=9)),
        ):
            await session.execute(
                insert(SLACK_OAUTH_STATES).values(
                    state=name, expire_at=normalize_datetime_for_db(when)
                )
            )
            session.add(
                DashboardSession(
                    id_hash=name,
                    team_id="T0123ABCD",
                    user_id="U0123ABCD",
                    is_admin=False,
                    admin_checked_at=now - timedelta(hours=13),
                    created_at=now - timedelta(hours=13),
                    expires_at=when,
                )
            )
    async with running_bot(url, slack) as bot:
        await run_pass(bot, now=now)
    async with db.session() as session:
        states = (await session.execute(select(SLACK_OAUTH_STATES.c.state))).scalars().all()
        sessions = (await session.execute(select(DashboardSession.id_hash))).scalars().all()
    assert list(states) == ["live"] and list(sessions) == ["live"]


async def test_me_page_shows_a_promise_as_words(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    typed = f"ask <@{ws.admin}> about R&amp;D notes &lt;draft&gt; v2"
    await promise(dash_server, ws.team, slack, db, ws.member, ws.admin, typed)
    member = await sign_in(dash_server, slack, ws.member)
    page = (await fetch(dash_server, "/dashboard/me", member))[1]
    # The reader sees "R&D notes <draft> with @ada.admin": escaped once, by the page.
    i = page.find("R&amp;")
    assert "<li>ask @ada.admin about R&amp;D notes &lt;draft&gt; v2" in page, page[i - 40 : i + 60]
    assert "&amp;amp;" not in page and "&amp;lt;" not in page and "&lt;@U" not in page
    assert ws.admin not in page.split("Your open promises")[1].split("Your data")[0]
