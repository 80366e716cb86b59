"""Every surface in the pseudo language: each catalogue string accented, lengthened and
bracketed, so any English word that reaches Slack outside the brackets is a string nobody
marked, and any payload the longer words push past Slack's limits is refused by the models.

Drives `allybot serve`, the scheduler and the digest against the Slack double for people
whose Slack locale is the pseudo language and a workspace whose default language is it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy import update

from bot import i18n
from bot.db import Database
from bot.models import Workspace
from bot.services import workspace_settings
from bot.services.intros import rules as intro_rules
from scheduler.digest import post_digests
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot, set_intros
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import commit, press
from tests.test_direct_messages_e2e import dm
from tests.test_home_e2e import open_home
from tests.test_intros_e2e import BOT_USER, group_posts, intros_cmd
from tests.test_me_too_e2e import give, react
from tests.test_newcomers_e2e import join, wait_newcomer
from tests.test_readers_language_e2e import ally, pass_at
from tests.test_views_languages_e2e import english_left, open_settings, texts_of

TZ = "Europe/Madrid"
MONDAY = "2027-03-01 10:00"  # a working morning in TZ
TYPED = "zzq"
TAG = re.compile(r"#[a-z][a-z0-9_\-]*")  # what the people here type: no English word of its own
# Every method through which allybot says something to a person or a channel.
SAYING = (
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "response_url",
    "views.publish",
    "views.open",
    "views.update",
    "views.push",
)


def shown(call: Call) -> list[str]:
    """What a person reads of one call: the notification text, blocks, a view's parts."""
    args: dict[str, Any] = call.args
    found: list[str] = []
    if isinstance(args.get("text"), str):
        found.append(args["text"])
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if blocks:
        assert len(blocks) <= 50, call.method
        for block in blocks:
            Block.parse(block).validate_json()  # type: ignore[union-attr]
        found.extend(texts_of(blocks))
    view = args.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    if view:
        View(**view).validate_json()
        found.extend(texts_of([view.get("title"), view.get("submit"), view.get("close")]))
        found.extend(texts_of(view.get("blocks") or []))
    return found


async def kudos(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> Call:
    body, key = team.command("/kudos", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return (await slack.wait_for("response_url", _key=key))[0]


async def test_no_english_reaches_slack_in_the_pseudo_language(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    locale = f"{i18n.PSEUDO}-ploc"
    ana = team.user("ana", tz=TZ, locale=locale, is_admin=True)
    bob = team.user("bob", tz=TZ, locale=locale)
    async with db.session() as session:
        await workspace_settings.apply(
            session,
            team_id=team.team_id,
            settings=workspace_settings.WorkspaceSettings(
                kudos_channel=team.channel_id, digest_day="monday"
            ),
            changed_by="test",
            now=datetime.now(UTC),
        )
        # Not a language an admin can pick: set as a deployer's database would hold it.
        await session.execute(
            update(Workspace).where(Workspace.team_id == team.team_id).values(language=i18n.PSEUDO)
        )
    start = len(slack.calls)

    # Replies to commands, right and wrong.
    for text in (
        "help",
        "frobnicate",
        "list",
        f"add <@{bob}> every week",
        "list",
        "tips daily",
        "pause 7d",
        "resume",
        "quiet 25:00-09:00",
        "quiet 18:00-09:00",
        f"mute <@{bob}>",
        f"unmute <@{bob}>",
        "intros join",
        "kudos private",
        "kudos public",
        "language",
        "intros welcome on",
        "export",
    ):
        await ally(server, team, slack, ana, text)
    body, __ = team.command("/kudos", f"<@{bob}> {TYPED} {TYPED}", user_id=ana)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)
    await kudos(server, team, slack, ana, "")
    await kudos(server, team, slack, ana, f"<@{ana}> {TYPED}")
    await kudos(server, team, slack, ana, f"<!here> {TYPED}")
    reply = await commit(server, team, slack, ana, f"{TYPED} to <@{bob}> by 2030-01-04")
    await press(server, slack, team, ana, reply, "commit_confirm")
    (told,) = await slack.wait_for(
        "chat.postMessage", channel=bob, where=lambda c: "commit_got_it" in str(c.args)
    )
    await press(server, slack, team, bob, told, "commit_got_it")
    await commit(server, team, slack, ana, "")
    await commit(server, team, slack, ana, f"{TYPED} by {TYPED}day")
    await commit(server, team, slack, ana, "list")

    # Home and the settings modal.
    await open_home(server, team, slack, ana)
    await open_settings(server, team, slack, ana)
    body, __ = team.command("/ally", "admin", user_id=ana)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("views.open", where=lambda c: "admin" in str(c.args.get("view")))

    # The scheduler's daily message (tips daily) and the weekly digest in the channel.
    monday = at(MONDAY, TZ)
    await pass_at(database_url, slack, team, monday)
    await pass_at(database_url, slack, team, monday + timedelta(days=7))
    today = datetime.now(UTC).date()
    digest_monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    morning = datetime.combine(digest_monday, datetime.min.time(), UTC) + timedelta(hours=10)
    async with running_bot(database_url, slack) as bot:
        await post_digests(bot, now=morning, team_id=team.team_id)

    calls = [c for c in slack.calls[start:] if c.method in SAYING]
    assert {c.method for c in calls} >= {
        "chat.postMessage",
        "response_url",
        "views.publish",
        "views.open",
    }
    assert left_in(calls) == {}


def left_in(calls: list[Call]) -> dict[str, list[str]]:
    """English words outside the pseudo language's marks, by what carried them."""
    # The product keeps its name; kudos tags are words people type, like commands.
    allowed = (TYPED, "allybot", *i18n.LANGUAGES.values())
    return {
        call.method + ": " + text: english_left([TAG.sub(" ", text)], allowed=allowed)
        for call in calls
        for text in shown(call)
        if english_left([TAG.sub(" ", text)], allowed=allowed)
    }


async def test_community_surfaces_in_the_pseudo_language_leave_no_english(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """DMs to allybot, a newcomer's welcome, an intros round and its heads-up, joining in on
    a kudos and the Give kudos shortcut's modal, all for pseudo-language readers."""
    locale = f"{i18n.PSEUDO}-ploc"
    ana, bob, cy, dee = (team.user(n, tz=TZ, locale=locale) for n in ("ana", "bob", "cy", "dee"))
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
        await workspace_settings.apply(
            session,
            team_id=team.team_id,
            settings=workspace_settings.WorkspaceSettings(kudos_channel=team.channel_id),
            changed_by="test",
            now=datetime.now(UTC),
        )
        await session.execute(
            update(Workspace).where(Workspace.team_id == team.team_id).values(language=i18n.PSEUDO)
        )
    start = len(slack.calls)

    # Direct messages to allybot: a greeting, a question, a kudos.
    for text in ("hello", "how do I pause reminders?", f"kudos <@{bob}> {TYPED}"):
        before = len(slack.calls_to("chat.postMessage", channel=ana))
        assert (await server.post(dm(team, ana, text)))[0] == 200
        await slack.wait_for("chat.postMessage", channel=ana, count=before + 1)

    # Joining in on a kudos post with the kudos emoji: the post is updated in place.
    ts = await give(server, team, slack, db, ana, f"<@{dee}> {TYPED}")
    await react(server, team, cy, ts)
    await slack.wait_for("chat.update", channel=team.channel_id, ts=ts)

    # The Give kudos shortcut on someone's message opens its modal.
    shortcut = payloads.message_shortcut(
        user_id=ana,
        team_id=team.team_id,
        callback_id="give_kudos_for_message",
        channel_id=team.channel_id,
        message={"type": "message", "user": bob, "ts": payloads.fresh_ts(), "text": TYPED},
    )
    assert (await server.post(shortcut))[0] == 200
    await slack.wait_for("views.open", where=lambda c: bob in json.dumps(c.args.get("view")))

    # A newcomer with welcomers, and an intros round for everyone who joined.
    for who in (cy, dee):
        await intros_cmd(server, team, slack, who, "welcome on")
    new = team.user("new", tz=TZ, locale=locale)
    await join(server, team, slack, new)
    row = await wait_newcomer(db, team.team_id, new)
    slack.set_members(team.channel_id, [ana, bob, cy, dee, BOT_USER])
    for who in (ana, bob, cy, dee):
        await intros_cmd(server, team, slack, who, "join")
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        day = intro_rules.next_round_day(workspace, datetime.now(UTC) + timedelta(days=1))
    round_at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30)
    for when in (row.welcome_at + timedelta(minutes=5), round_at - timedelta(days=1), round_at):
        await pass_at(database_url, slack, team, when)

    calls = [c for c in slack.calls[start:] if c.method in SAYING]
    assert any(c.method == "chat.update" for c in calls)
    everyone = (ana, bob, cy, dee)
    pairs = [{a, b} for a in everyone for b in everyone if a < b]
    assert any(group_posts(slack, pair, "") for pair in pairs), "an intros round was made"
    assert left_in(calls) == {}
