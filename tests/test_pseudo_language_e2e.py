"""Every surface in the pseudo language: each catalogue string accented, lengthened and
bracketed, so any English word that reaches Slack outside the brackets is a string nobody
marked, and any payload the longer words push past Slack's limits is refused by the models.

Drives `allybot serve`, the scheduler and the digest against the Slack double for people
whose Slack locale is the pseudo language and a workspace whose default language is it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy import update

from bot import i18n
from bot.db import Database
from bot.models import Workspace
from bot.services import workspace_settings
from scheduler.digest import post_digests
from tests.conftest import Server, Team
from tests.helpers import at, running_bot
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import commit, press
from tests.test_home_e2e import open_home
from tests.test_readers_language_e2e import ally, pass_at
from tests.test_views_languages_e2e import english_left, open_settings, texts_of

TZ = "Europe/Madrid"
MONDAY = "2027-03-01 10:00"  # a working morning in TZ
TYPED = "zzq"  # what the people here type: no English word of its own
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
        import json

        blocks = json.loads(blocks)
    if blocks:
        assert len(blocks) <= 50, call.method
        for block in blocks:
            Block.parse(block).validate_json()  # type: ignore[union-attr]
        found.extend(texts_of(blocks))
    view = args.get("view")
    if isinstance(view, str):
        import json

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
    allowed = (TYPED, "allybot", *i18n.LANGUAGES.values())  # the product keeps its name
    left = {
        call.method + ": " + text: english_left([text], allowed=allowed)
        for call in calls
        for text in shown(call)
        if english_left([text], allowed=allowed)
    }
    assert left == {}
