"""Installs in many workspaces: Bolt's OAuth flow in a real `allybot serve`, against the double.

The server runs with SLACK_CLIENT_ID/SLACK_CLIENT_SECRET and no bot token, so every Web API
call it makes for a workspace must carry the token that workspace's install stored.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy import select

from allybot.app import AllyBot
from bot.db import Database
from bot.models import SLACK_BOTS, SLACK_INSTALLATIONS, Inbound, Workspace
from bot.oauth import BOT_SCOPES
from bot.settings import Settings
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import ROOT, SIGNING_SECRET, Server, Team
from tests.helpers import at, new_id, running_bot
from tests.installs import (
    CLIENT_ID,
    CLIENT_SECRET,
    begin_install,
    finish_install,
    new_token,
    oauth_env,
)
from tests.slack_double import Call, SlackDouble
from tests.test_allies_e2e import ally_cmd
from tests.test_commitments_e2e import TZ, commit, press, today, working_day_on_or_after
from tests.test_privacy_e2e import export_of


@pytest.fixture(scope="session")
def oauth_server(dash_server: Server) -> Server:
    """`allybot serve` for many workspaces on the run's database: the dashboard's server,
    started with the same settings, so a test process starts one such server, not two."""
    return dash_server


async def install(server: Server, slack: SlackDouble, team_id: str, name: str = "Acme") -> str:
    """Install allybot in a workspace through the flow; its new bot token."""
    token, code = new_token(team_id), uuid.uuid4().hex
    slack.set_oauth_install(code, team_id, name, token, bot_user_id="UB" + team_id[1:])
    started = await begin_install(server.http, server.url)
    status, page = await finish_install(server.http, server.url, code=code, state=started.state)
    assert status == 200, page
    return token


async def bots_of(db: Database, team_id: str) -> list[str]:
    async with db.session() as session:
        stmt = select(SLACK_BOTS.c.bot_token).where(SLACK_BOTS.c.team_id == team_id)
        return [str(t) for t in (await session.execute(stmt)).scalars()]


async def test_install_stores_the_workspace_token_and_uses_it(
    oauth_server: Server, slack: SlackDouble, db: Database
) -> None:
    team = Team(slack=slack)
    token, code = new_token(team.team_id), uuid.uuid4().hex
    slack.set_oauth_install(code, team.team_id, "Acme Ops", token, bot_user_id="UBOTACME")

    started = await begin_install(oauth_server.http, oauth_server.url)
    assert started.status == 302
    where = urlsplit(started.location)
    assert (where.netloc, where.path) == ("slack.com", "/oauth/v2/authorize")
    query = parse_qs(where.query)
    assert query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split(",")) == set(BOT_SCOPES)
    assert started.state and started.cookie_state == started.state

    status, page = await finish_install(
        oauth_server.http, oauth_server.url, code=code, state=started.state
    )
    assert status == 200
    assert "allybot is installed" in page and "Acme Ops" in page
    assert "/invite @allybot" in page and "Home tab" in page
    assert (await slack.wait_for("oauth.v2.access"))[-1].args["client_id"] == CLIENT_ID
    assert await bots_of(db, team.team_id) == [token]
    async with db.session() as session:
        stmt = select(SLACK_INSTALLATIONS.c.team_name).where(
            SLACK_INSTALLATIONS.c.team_id == team.team_id
        )
        assert list((await session.execute(stmt)).scalars()) == ["Acme Ops"]
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None and workspace.name == "Acme Ops"
        assert workspace.uninstalled_at is None

    # A slash command from that workspace is answered with that workspace's own token.
    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command("/kudos", f"<@{ann}> great install guide", user_id=giver)
    assert (await oauth_server.post(body))[0] == 200
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    dm = (await slack.wait_for("chat.postMessage", channel=ann))[0]
    assert post.ok and dm.ok
    assert post.token == token and dm.token == token
    looked_up = slack.calls_to("users.info", user=ann)
    assert looked_up and {c.token for c in looked_up} == {token}


async def test_forged_reused_and_foreign_states_are_refused(
    oauth_server: Server, slack: SlackDouble, db: Database
) -> None:
    team_id = "T" + uuid.uuid4().hex[:10].upper()
    token, code = new_token(team_id), uuid.uuid4().hex
    slack.set_oauth_install(code, team_id, "Forgery Inc", token, bot_user_id="UBOTFORGE")
    http, url = oauth_server.http, oauth_server.url

    # A state allybot never issued, even with a matching cookie.
    status, page = await finish_install(http, url, code=code, state="forged-state")
    assert status == 401 and "allybot was not installed" in page
    assert "expired or was already used" in page and "/slack/install" in page
    # A real state, but the browser that comes back is not the one that started.
    started = await begin_install(http, url)
    status, page = await finish_install(
        http, url, code=code, state=started.state, cookie_state="someone-else"
    )
    assert status == 400 and "allybot was not installed" in page
    assert await bots_of(db, team_id) == []
    assert slack.calls_to("oauth.v2.access", code=code) == []

    # The same state used twice: the first completes, the second is refused.
    started = await begin_install(http, url)
    assert (await finish_install(http, url, code=code, state=started.state))[0] == 200
    slack.set_oauth_install(code, team_id, "Forgery Inc", new_token(team_id), bot_user_id="UB2")
    status, page = await finish_install(http, url, code=code, state=started.state)
    assert status == 401 and "allybot was not installed" in page
    assert await bots_of(db, team_id) == [token]


async def test_cancelled_install_gets_the_friendly_page(oauth_server: Server) -> None:
    async with oauth_server.http.get(
        f"{oauth_server.url}/slack/oauth_redirect?error=access_denied"
    ) as resp:
        page = await resp.text()
    assert resp.status == 200 and "cancelled" in page and "/slack/install" in page


@pytest.mark.parametrize(
    ("accept", "said"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "La instalación se canceló en Slack"),
        ("de-CH, de;q=0.9", "Die Installation wurde in Slack abgebrochen"),
        ("pt-BR, fr;q=0.5", "The install was cancelled in Slack"),
    ],
)
async def test_an_install_page_speaks_the_browsers_language(
    oauth_server: Server, accept: str, said: str
) -> None:
    """Nobody is known while installing: the page follows the browser's Accept-Language."""
    async with oauth_server.http.get(
        f"{oauth_server.url}/slack/oauth_redirect?error=access_denied",
        headers={"Accept-Language": accept},
    ) as resp:
        page = await resp.text()
    assert resp.status == 200 and said in page and "/slack/install" in page


def test_scopes_asked_for_are_the_manifest_scopes() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(BOT_SCOPES) == set(manifest["oauth_config"]["scopes"]["bot"])
    redirect = manifest["oauth_config"]["redirect_urls"]
    assert all(
        re.fullmatch(r"https://[^/]+/(slack/oauth_redirect|dashboard/callback)", u)
        for u in redirect
    )
    assert any(u.endswith("/slack/oauth_redirect") for u in redirect)


def test_both_token_kinds_refused_at_start(tmp_path: Path) -> None:
    from tests.test_settings import run_cli

    result = run_cli(
        "serve",
        SLACK_SIGNING_SECRET="s",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="x",
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_CLIENT_ID" in result.stderr


def oauth_bot(database_url: str, slack: SlackDouble) -> AbstractAsyncContextManager[AllyBot]:
    """allybot in this process in many-workspaces mode, for scheduler passes."""
    settings = Settings(
        slack_client_id=CLIENT_ID,
        slack_client_secret=SecretStr(CLIENT_SECRET),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=slack.url,
        database_url=database_url,
    )
    return running_bot(database_url, slack, settings)


def mentions(word: str) -> Callable[[Call], bool]:
    return lambda call: word in json.dumps(call.args)


def leaks(slack: SlackDouble, token: str, foreign: str) -> list[Call]:
    """Calls made with one workspace's token that mention the other workspace's words."""
    return [c for c in slack.calls if c.token == token and foreign in json.dumps(c.args)]


async def open_home_text(server: Server, team: Team, slack: SlackDouble, user: str) -> str:
    token = await team_token(team)
    before = len(slack.calls_to("views.publish", user_id=user))
    event = payloads.app_home_opened_event(user=user, team_id=team.team_id)
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200
    calls = await slack.wait_for("views.publish", user_id=user, count=before + 1)
    assert calls[-1].token == token
    return json.dumps(calls[-1].args)


TOKENS: dict[str, str] = {}


async def team_token(team: Team) -> str:
    return TOKENS[team.team_id]


async def test_two_workspaces_never_see_count_or_nudge_each_other(
    oauth_server: Server, slack: SlackDouble, db: Database, database_url: str
) -> None:
    alpha, bravo = Team(slack=slack), Team(slack=slack)
    grid = new_id("E")
    for team in (alpha, bravo):
        slack.set_team(team.team_id, name=team.team_id, enterprise_id=grid)
        TOKENS[team.team_id] = await install(oauth_server, slack, team.team_id)
    # The same people in both, as on Enterprise Grid, where a user id spans workspaces (each
    # workspace installed allybot on its own).
    giver, ann, bob = (new_id("U") for _ in range(3))
    for user in (giver, ann, bob):
        slack.add_user(user, team_id=alpha.team_id, tz=TZ)
    server = oauth_server

    async def kudos(team: Team, sender: str, text: str) -> None:
        body, _ = team.command("/kudos", f"<@{ann}> {text}", user_id=sender)
        assert (await server.post(body))[0] == 200
        await slack.wait_for(
            "chat.postMessage", channel=team.channel_id, where=lambda c: text in json.dumps(c.args)
        )

    await kudos(alpha, giver, "alphaword thanks for the runbook")
    await kudos(bravo, giver, "bravoword thanks for the migration")
    await kudos(bravo, bob, "bravoword second thanks")
    # Enough people in bravo for its report to show figures (it hides groups under five).
    for _ in range(3):
        extra = new_id("U")
        slack.add_user(extra, team_id=bravo.team_id, tz=TZ)
        await kudos(bravo, extra, f"bravoword from {extra}")
    due = working_day_on_or_after(today() + timedelta(days=2))
    for team, word in ((alpha, "alphaword"), (bravo, "bravoword")):
        reply = await commit(server, team, slack, ann, f"{word} deck to <@{bob}> by {due}")
        await press(server, slack, team, ann, reply, "commit_confirm")
        await slack.wait_for("chat.postMessage", channel=bob, where=mentions(word))
    body, key = alpha.command("/ally", f"add <@{bob}> every week", user_id=ann)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)

    # Visible: Home, /ally list and the export show only the workspace's own.
    home_a = await open_home_text(server, alpha, slack, ann)
    home_b = await open_home_text(server, bravo, slack, ann)
    assert "alphaword" in home_a and "bravoword" not in home_a
    assert "bravoword" in home_b and "alphaword" not in home_b
    assert "you received 1." in home_a and "you received 5." in home_b
    list_a = await ally_cmd(server, alpha, slack, ann, "list")
    list_b = await ally_cmd(server, bravo, slack, ann, "list")
    assert bob in list_a and bob not in list_b
    _, export_a = await export_of(server, alpha, slack, ann)
    _, export_b = await export_of(server, bravo, slack, ann)
    assert "alphaword" in json.dumps(export_a) and "bravoword" not in json.dumps(export_a)
    assert "bravoword" in json.dumps(export_b) and "alphaword" not in json.dumps(export_b)

    # Counted: the workspace report counts only its own (alpha's two people stay hidden).
    report_a = json.loads(
        await run_cli_oauth(database_url, slack, "report", "--team", alpha.team_id, "--json")
    )
    report_b = json.loads(
        await run_cli_oauth(database_url, slack, "report", "--team", bravo.team_id, "--json")
    )
    assert (report_b["team_id"], report_b["network"]["kudos"]) == (bravo.team_id, 5)
    assert report_b["network"]["people"] == 6
    assert report_a["team_id"] == alpha.team_id
    assert report_a["network"]["kudos"] == "fewer than 5"

    # Nudged: the preview and a pass for one workspace hold only its own.
    instant = at(f"{due} 09:05", TZ).isoformat()
    preview = await run_cli_oauth(
        database_url, slack, "nudges", "preview", "--now", instant, "--team", alpha.team_id
    )
    assert "alphaword" in preview and "bravoword" not in preview
    assert bravo.team_id not in preview
    async with oauth_bot(database_url, slack) as bot:
        for team in (alpha, bravo):
            await run_pass(bot, now=at(f"{due} 09:05", TZ), team_id=team.team_id)
    due_dms = [
        c for c in slack.calls_to("chat.postMessage", channel=ann) if "Due today" in str(c.args)
    ]
    assert sorted(str(c.token) for c in due_dms) == sorted(
        TOKENS[t.team_id] for t in (alpha, bravo)
    )
    assert leaks(slack, TOKENS[alpha.team_id], "bravoword") == []
    assert leaks(slack, TOKENS[bravo.team_id], "alphaword") == []

    # One workspace removes allybot: its tokens go, its nudges stop; the other carries on.
    event = payloads.event_callback(payloads.app_uninstalled_event(), team_id=alpha.team_id)
    assert (await server.post(event))[0] == 200
    for _ in range(200):  # the tokens go first, then the workspace is marked: wait for both
        async with db.session() as session:
            marked = await session.get(Workspace, alpha.team_id)
            if marked is not None and marked.uninstalled_at is not None:
                break
        await asyncio.sleep(0.05)
    assert await bots_of(db, alpha.team_id) == []
    assert await bots_of(db, bravo.team_id) == [TOKENS[bravo.team_id]]
    async with db.session() as session:
        gone = await session.get(Workspace, alpha.team_id)
        kept = await session.get(Workspace, bravo.team_id)
        assert gone is not None and gone.uninstalled_at is not None
        assert kept is not None and kept.uninstalled_at is None
    mark = len(slack.calls)
    async with oauth_bot(database_url, slack) as bot:
        for team in (alpha, bravo):
            await run_pass(bot, now=at(f"{next_day(due)} 09:05", TZ), team_id=team.team_id)
    overdue = [
        c
        for c in slack.calls[mark:]
        if c.method == "chat.postMessage" and c.args.get("channel") == ann and c.ok
    ]
    assert [c.token for c in overdue] == [TOKENS[bravo.team_id]]

    # A reinstall serves the workspace again, with its new token.
    TOKENS[alpha.team_id] = await install(oauth_server, slack, alpha.team_id)
    async with db.session() as session:
        back = await session.get(Workspace, alpha.team_id)
        assert back is not None and back.uninstalled_at is None
    await kudos(alpha, bob, "alphaword welcome back")
    posts = slack.calls_to("chat.postMessage", channel=alpha.channel_id)
    assert posts[-1].ok and posts[-1].token == TOKENS[alpha.team_id]


def next_day(day: date) -> date:
    return working_day_on_or_after(day + timedelta(days=1))


async def run_cli_oauth(database_url: str, slack: SlackDouble, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allybot.cli",
        *args,
        cwd=ROOT,
        env=oauth_env(database_url, slack.url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_revoking_only_peoples_tokens_keeps_the_install(
    oauth_server: Server, slack: SlackDouble, db: Database
) -> None:
    team = Team(slack=slack)
    token = await install(oauth_server, slack, team.team_id)
    event_id = "Ev" + uuid.uuid4().hex[:12].upper()
    inner = payloads.tokens_revoked_event([], oauth_ids=["U0SOMEONE"])
    body = payloads.event_callback(inner, team_id=team.team_id, event_id=event_id)
    assert (await oauth_server.post(body))[0] == 200
    for _ in range(200):
        async with db.session() as session:
            status = await session.scalar(
                select(Inbound.status).where(Inbound.key == f"event:{event_id}")
            )
        if status == "done":
            break
        await asyncio.sleep(0.05)
    assert status == "done"
    assert await bots_of(db, team.team_id) == [token]
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None and workspace.uninstalled_at is None


async def test_an_enterprise_grid_workspace_keeps_its_enterprise_id(
    oauth_server: Server, slack: SlackDouble, db: Database
) -> None:
    team, enterprise = Team(slack=slack), "E" + uuid.uuid4().hex[:10].upper()
    token, code = new_token(team.team_id), uuid.uuid4().hex
    slack.set_oauth_install(code, team.team_id, "Grid Org", token, "UBGRID", enterprise)
    started = await begin_install(oauth_server.http, oauth_server.url)
    status, _ = await finish_install(
        oauth_server.http, oauth_server.url, code=code, state=started.state
    )
    assert status == 200
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None and workspace.enterprise_id == enterprise
        stmt = select(SLACK_BOTS.c.enterprise_id).where(SLACK_BOTS.c.team_id == team.team_id)
        assert list((await session.execute(stmt)).scalars()) == [enterprise]

    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command(
        "/kudos", f"<@{ann}> thanks for the grid migration", user_id=giver, enterprise_id=enterprise
    )
    assert (await oauth_server.post(body))[0] == 200
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    assert post.ok and post.token == token

    gone = payloads.event_callback(
        payloads.app_uninstalled_event(), team_id=team.team_id, enterprise_id=enterprise
    )
    assert (await oauth_server.post(gone))[0] == 200
    for _ in range(200):
        if not await bots_of(db, team.team_id):
            break
        await asyncio.sleep(0.05)
    assert await bots_of(db, team.team_id) == []
