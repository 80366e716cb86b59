"""Who reads it decides the language, through `allybot serve`, scheduler passes at simulated
instants and the Slack double: each person's daily message in their own language (and a
change in Slack, or their own choice, taking effect), an intros group DM in its members'
common language or the workspace's, and the weekly digest in the workspace's language."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select, update

from bot import i18n
from bot.blocks.commitments import build_delivered_blocks, build_party_blocks
from bot.blocks.intros import met_note
from bot.blocks.kudos import build_kudos_dm_blocks, kudos_dm_text, kudos_post_text
from bot.db import Database
from bot.models import IntroMatch, Kudos, Nudge, Person, TipShown, Workspace
from bot.services import tips, workspace_settings
from bot.services.intros import rules as intro_rules
from bot.services.intros import starters
from scheduler.digest import post_digests
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, new_id, running_bot, set_intros
from tests.slack_double import Call, SlackDouble
from tests.test_admin_e2e import state
from tests.test_allies_e2e import set_last_contact, wait_until
from tests.test_commitments_e2e import blocks_of, commit, commitments_of, press
from tests.test_home_e2e import open_home
from tests.test_intros_e2e import BOT_USER, group_posts, intros_cmd, post_ts, press_in_group

TZ = "Europe/Madrid"
MONDAY = "2027-03-01 10:00"  # a working morning in TZ


async def ally(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> str:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


async def pass_at(database_url: str, slack: SlackDouble, team: Team, when: datetime) -> None:
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=when, team_id=team.team_id)


def daily(slack: SlackDouble, user: str) -> list[Call]:
    """The messages the scheduler DMed the person (not replies to what they did)."""
    return [
        c
        for c in slack.calls_to("chat.postMessage", channel=user)
        if c.ok and "tip_helpful" in json.dumps(blocks_of(c))
    ]


async def tip_of(db: Database, team_id: str, user_id: str, nth: int) -> str:
    """The tip allybot chose for the person's `nth` message, as its stable id."""
    async with db.session() as session:
        rows = await session.execute(
            select(TipShown.tip_id)
            .where(TipShown.team_id == team_id, TipShown.user_id == user_id)
            .order_by(TipShown.id)
        )
        return list(rows.scalars())[nth]


def words(call: Call) -> str:
    """Every text a message's blocks show, one per line."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks_of(call))
    return "\n".join(found)


def tip_in(code: str, tip_id: str) -> str:
    tip = tips.library().by_id(tip_id)
    assert tip is not None
    with i18n.speaking(code):
        return tip.shown()


async def test_each_persons_daily_message_is_in_their_language_and_follows_changes(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ana = team.user("ana", tz=TZ, locale="es-ES")
    ben = team.user("ben", tz=TZ, locale="de-DE")
    eve = team.user("eve", tz=TZ, locale="en-US")
    for person in (ana, ben, eve):
        await ally(server, team, slack, person, "tips daily")

    monday = at(MONDAY, TZ)
    await pass_at(database_url, slack, team, monday)
    for person, code, lead in (
        (ana, "es", "Consejo: "),
        (ben, "de", "Tipp: "),
        (eve, "en", "Tip: "),
    ):
        (message,) = daily(slack, person)
        tip_id = await tip_of(db, team.team_id, person, 0)
        assert message.args["text"] == lead + tip_in(code, tip_id), person
        assert tip_in(code, tip_id) in words(message)

    # Ana switches Slack to German: Slack says her profile changed (without her locale);
    # the next message allybot sends her asks Slack again and is in German.
    slack.set_locale(ana, "de-DE")
    event = payloads.event_callback(
        payloads.user_change_event(slack.user(ana)), team_id=team.team_id
    )
    assert (await server.post(event))[0] == 200

    async def refreshable() -> bool:
        async with db.session() as session:
            found = await session.get(Person, (team.team_id, ana))
            return found is not None and found.profile_refreshed_at is None

    await wait_until(refreshable)
    await pass_at(database_url, slack, team, monday + timedelta(days=1))
    second = daily(slack, ana)[1]
    assert second.args["text"] == "Tipp: " + tip_in("de", await tip_of(db, team.team_id, ana, 1))

    # Her own choice wins over Slack's: English from now on, though Slack says German.
    await ally(server, team, slack, ana, "language en")
    await pass_at(database_url, slack, team, monday + timedelta(days=2))
    third = daily(slack, ana)[2]
    assert third.args["text"] == "Tip: " + tip_in("en", await tip_of(db, team.team_id, ana, 2))


async def intros_round(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    database_url: str,
    members: list[str],
) -> tuple[Call, str]:
    """One round of intros for `members` (a pair): its group post and its starter's id."""
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    slack.set_members(team.channel_id, [*members, BOT_USER])
    for person in members:
        await intros_cmd(server, team, slack, person, "join")
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        day = intro_rules.next_round_day(workspace, datetime.now(UTC) + timedelta(days=1))
    await pass_at(
        database_url,
        slack,
        team,
        datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30),
    )
    (post,) = group_posts(slack, set(members), "")
    async with db.session() as session:
        match = (
            await session.execute(select(IntroMatch).where(IntroMatch.team_id == team.team_id))
        ).scalar_one()
    return post, match.starter_id


def starter_in(code: str, starter_id: str) -> str:
    with i18n.speaking(code):
        return starters.starter_text(starter_id)


async def test_an_intros_group_speaks_its_common_language(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ana = team.user("ana", tz=TZ, locale="es-ES")
    luz = team.user("luz", tz=TZ, locale="es-MX")
    post, starter = await intros_round(server, team, slack, db, database_url, [ana, luz])
    said = words(post)
    assert starter_in("es", starter) in said and starter_in("en", starter) not in said
    # Each one's time, as Spanish writes it: the round's Monday, 09:30 UTC, in Madrid.
    assert re.search(rf"<@{ana}> · lun 1[01]:30 \({TZ}\)", said), said

    # A week later, "Did you meet?" in Spanish too, and so is the note a "Yes" leaves there.
    async with db.session() as session:
        match = (
            await session.execute(select(IntroMatch).where(IntroMatch.team_id == team.team_id))
        ).scalar_one()
    await pass_at(database_url, slack, team, match.created_at + timedelta(days=7, minutes=5))
    question = said_in("es", "Did you meet? One answer from any of you is enough.")
    (asked,) = group_posts(slack, {ana, luz}, question)
    assert asked.args["text"] == question
    ts = await post_ts(db, match.id, intro_rules.FOLLOW_UP)
    await press_in_group(server, slack, team, luz, asked, "intro_met_yes", ts)
    (noted,) = await slack.wait_for("chat.update", ts=ts)
    with i18n.speaking("es"):
        assert met_note(luz) in words(noted)
    assert "says you met" not in words(noted)


async def test_a_mixed_intros_group_gets_the_workspace_language(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ana = team.user("ana", tz=TZ, locale="es-ES")
    eve = team.user("eve", tz=TZ, locale="en-GB")
    async with db.session() as session:
        await workspace_settings.apply(
            session,
            team_id=team.team_id,
            settings=workspace_settings.WorkspaceSettings(language="de"),
            changed_by="test",
            now=datetime.now(UTC),
        )
    post, starter = await intros_round(server, team, slack, db, database_url, [ana, eve])
    said = words(post)
    assert starter_in("de", starter) in said
    assert starter_in("es", starter) not in said and starter_in("en", starter) not in said


async def test_the_digest_follows_the_workspace_language(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ana = team.user("ana", tz=TZ, locale="es-ES")
    bob = team.user("bob", tz=TZ, locale="en-US")
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
    body, __ = team.command("/kudos", f"<@{bob}> thanks for the clear notes", user_id=ana)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)

    def posts() -> list[str]:
        return [
            str(c.args.get("text"))
            for c in slack.calls_to("chat.postMessage", channel=team.channel_id)
            if c.ok
        ]

    # The digest day after the kudos: Monday morning in the workspace's zone (UTC).
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    morning = datetime.combine(monday, datetime.min.time(), UTC) + timedelta(hours=10)
    before = len(posts())
    async with running_bot(database_url, slack) as bot:
        await post_digests(bot, now=morning, team_id=team.team_id)
    assert posts()[before:] == ["Kudos this week: 1"]

    async with db.session() as session:
        await workspace_settings.apply(
            session,
            team_id=team.team_id,
            settings=workspace_settings.WorkspaceSettings(language="de"),
            changed_by="test",
            now=datetime.now(UTC),
        )
    cy = team.user("cy", tz=TZ, locale="de-DE")
    body, __ = team.command("/kudos", f"<@{cy}> thanks again for the notes", user_id=ana)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=cy)
    async with db.session() as session:  # given during the following week
        await session.execute(
            update(Kudos)
            .where(Kudos.team_id == team.team_id, Kudos.text.contains("again"))
            .values(created_at=morning + timedelta(days=6))
        )
    before = len(posts())
    async with running_bot(database_url, slack) as bot:
        await post_digests(bot, now=morning + timedelta(days=7), team_id=team.team_id)
    assert posts()[before:] == ["Kudos diese Woche: 1"]


# -- what one person's action makes allybot tell others -------------------------------------


def rendered(code: str, build: Callable[[], Any]) -> Any:
    """What allybot's own code renders in a language, as Slack receives it (JSON)."""
    with i18n.speaking(code):
        made = build()
    if isinstance(made, str):
        return made
    return [b.to_dict() for b in made]


async def test_a_promise_tells_each_party_in_their_own_language(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    eve = team.user("eve", tz=TZ, locale="en-US")
    ben = team.user("ben", tz="Europe/Berlin", locale="de-DE")
    ana = team.user("ana", tz=TZ, locale="es-ES")
    reply = await commit(
        server, team, slack, eve, f"send the deck to <@{ben}> <@{ana}> by 2030-01-02"
    )
    await press(server, slack, team, eve, reply, "commit_confirm")
    (commitment,) = await commitments_of(db, team.team_id)
    for party, code, tz in ((ben, "de", "Europe/Berlin"), (ana, "es", TZ)):
        (told,) = await slack.wait_for("chat.postMessage", channel=party)
        want = rendered(code, partial(build_party_blocks, commitment, tz))
        assert blocks_of(told) == want, party
        assert want != rendered("en", partial(build_party_blocks, commitment, tz))

    # Done: each party hears it in their language.
    await commit(server, team, slack, eve, "done 1")
    (done,) = await commitments_of(db, team.team_id)
    assert done.status == "done"
    for party, code in ((ben, "de"), (ana, "es")):
        news = await slack.wait_for("chat.postMessage", channel=party, count=2)
        assert blocks_of(news[-1]) == rendered(code, partial(build_delivered_blocks, done))


async def test_kudos_reach_the_receiver_in_theirs_and_the_channel_in_the_workspaces(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    admin = team.user("olu", is_admin=True)
    eve = team.user("eve", tz=TZ, locale="en-US")
    ben = team.user("ben", tz="Europe/Berlin", locale="de-DE")
    ana = team.user("ana", tz=TZ, locale="es-ES")

    async def give(giver: str, receiver: str, why: str) -> tuple[Call, Call, Kudos]:
        body, __ = team.command("/kudos", f"<@{receiver}> {why}", user_id=giver)
        assert (await server.post(body))[0] == 200
        (dm,) = await slack.wait_for(
            "chat.postMessage", channel=receiver, where=lambda c: why in str(c.args)
        )
        (post,) = await slack.wait_for(
            "chat.postMessage", channel=team.channel_id, where=lambda c: why in str(c.args)
        )
        async with db.session() as session:
            row = (
                await session.execute(
                    select(Kudos).where(Kudos.team_id == team.team_id, Kudos.text.contains(why))
                )
            ).scalar_one()
        return dm, post, row

    def dm_in(code: str, row: Kudos) -> tuple[str, Any]:
        def made() -> tuple[str, Any]:
            return kudos_dm_text(
                giver_id=row.giver_id,
                channel_id=row.channel_id,
                reason=row.text,
                private_by=row.private_by,
            ), build_kudos_dm_blocks(
                team_id=team.team_id,
                giver_id=row.giver_id,
                channel_id=row.channel_id,
                reason=row.text,
                tags=row.tags,
                emoji="raised_hands",
                private_by=row.private_by,
            )

        with i18n.speaking(code):
            text, blocks = made()
        return text, [b.to_dict() for b in blocks]

    def post_in(code: str, row: Kudos) -> str:
        with i18n.speaking(code):
            return kudos_post_text(
                giver_id=row.giver_id, receiver_ids=[row.receiver_id], reason=row.text
            )

    # An English speaker to a German speaker: the DM in German, the post in English.
    dm, post, row = await give(eve, ben, "the clearest release notes")
    assert (dm.args["text"], blocks_of(dm)) == dm_in("de", row)
    assert post.args["text"] == post_in("en", row)

    # A Spanish speaker's kudos: her reply language is hers, the post the workspace's.
    dm, post, row = await give(ana, eve, "a patient code review")
    assert (dm.args["text"], blocks_of(dm)) == dm_in("en", row)
    assert post.args["text"] == post_in("en", row)

    # The admin makes German the workspace's language: the next post is in German.
    saved = payloads.view_submission(
        user_id=admin,
        team_id=team.team_id,
        callback_id="admin_settings_modal",
        state_values=state(language="de"),
    )
    assert (await server.post(saved))[0] == 200
    await slack.wait_for("chat.postMessage", channel=admin)
    dm, post, row = await give(ana, ben, "untangling the build")
    assert (dm.args["text"], blocks_of(dm)) == dm_in("de", row)
    assert post.args["text"] == post_in("de", row)


def said_in(code: str, english: str) -> str:
    """One catalogue string in a language (the English as written in the code)."""
    with i18n.speaking(code):
        return i18n._(english)


async def test_a_spanish_speakers_day_while_the_channel_follows_the_workspace(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """Replies, Home and the daily message in Spanish for someone whose Slack is in Spanish;
    the kudos post in the workspace's language: English, then German once an admin sets it."""
    olu = team.user("olu", is_admin=True)
    ana = team.user("ana", tz=TZ, locale="es-ES")
    bob = team.user("bob", tz=TZ, locale="en-US")

    reply = await ally(server, team, slack, ana, "tips daily")
    assert reply == said_in("es", "You'll get a conduct tip each working day.")
    assert reply != said_in("en", "You'll get a conduct tip each working day.")
    home = await open_home(server, team, slack, ana)
    assert home["blocks"][0]["text"]["text"] == said_in("es", "Your alliances") != "Your alliances"

    # A check-in due and a tip: one daily message, both in Spanish.
    await ally(server, team, slack, ana, f"add <@{bob}> every week")
    monday = at(MONDAY, TZ)
    await set_last_contact(db, team.team_id, ana, monday.date() - timedelta(days=10))
    await pass_at(database_url, slack, team, monday)
    (message,) = daily(slack, ana)
    tip = tip_in("es", await tip_of(db, team.team_id, ana, 0))
    with i18n.speaking("es"):
        due = i18n.ngettext(
            "It's been {n} day since you and {ally} connected",
            "It's been {n} days since you and {ally} connected",
            10,
            ally=f"<@{bob}>",
        )
    assert message.args["text"] == f"allybot: 2 cosas para hoy. {due}"
    assert due.startswith("Hace 10 días") and tip in words(message)

    # Her kudos: the post in the workspace's language, English by default...
    body, __ = team.command("/kudos", f"<@{bob}> the tidy handover notes", user_id=ana)
    assert (await server.post(body))[0] == 200
    (post,) = await slack.wait_for(
        "chat.postMessage", channel=team.channel_id, where=lambda c: "handover" in str(c.args)
    )
    with i18n.speaking("en"):
        english = kudos_post_text(
            giver_id=ana, receiver_ids=[bob], reason="the tidy handover notes"
        )
    assert post.args["text"] == english

    # ...and German once an admin makes German the workspace's language.
    saved = payloads.view_submission(
        user_id=olu,
        team_id=team.team_id,
        callback_id="admin_settings_modal",
        state_values=state(language="de"),
    )
    assert (await server.post(saved))[0] == 200
    await slack.wait_for("chat.postMessage", channel=olu)
    cy = team.user("cy", tz=TZ, locale="es-ES")
    body, __ = team.command("/kudos", f"<@{cy}> the calm incident call", user_id=ana)
    assert (await server.post(body))[0] == 200
    (post,) = await slack.wait_for(
        "chat.postMessage", channel=team.channel_id, where=lambda c: "incident" in str(c.args)
    )
    with i18n.speaking("de"):
        german = kudos_post_text(giver_id=ana, receiver_ids=[cy], reason="the calm incident call")
    assert post.args["text"] == german
    # Her own replies stay in Spanish.
    reply = await ally(server, team, slack, ana, "tips weekly")
    assert reply == said_in("es", "You'll get a conduct tip each week, on your first working day.")


async def test_updates_held_back_are_summed_up_in_the_readers_words(db: Database) -> None:
    """More held DMs than a daily message shows: the rest are counted, their senders listed
    as the reader's language lists people."""
    from bot.services.dm_budget import HELD_KIND
    from scheduler.kinds import held

    team_id, ben = new_id("T"), new_id("U")
    givers = [f"UGIVER{i}HELD" for i in range(held.SHOWN + 2)]
    async with db.session() as session:
        await workspace_settings.apply(
            session,
            team_id=team_id,
            settings=workspace_settings.WorkspaceSettings(),
            changed_by="test",
            now=datetime.now(UTC),
        )
        items: list[Nudge] = []
        for giver in givers:
            row = Kudos(
                team_id=team_id,
                giver_id=giver,
                receiver_id=ben,
                channel_id=None,
                text="steady help",
                tags=[],
                source="command",
                source_key=f"held-{giver}",
            )
            session.add(row)
            await session.flush()
            items.append(
                Nudge(
                    team_id=team_id,
                    user_id=ben,
                    kind=HELD_KIND,
                    subject=giver,
                    period="p",
                    local_day=datetime.now(UTC).date(),
                    payload={"kudos": row.id},
                )
            )
        person = Person(team_id=team_id, user_id=ben, tz="Europe/Berlin")
        with i18n.speaking("de"):
            made = await held.render_many(session, items, person, False)
    assert made is not None and made.text == "7 Neuigkeiten von Kolleg:innen"
    last = made.blocks[-1].to_dict()["elements"][0]["text"]
    assert last.startswith(f"…und 2 weitere von <@{givers[0]}>, <@{givers[1]}>, ")
    assert f"<@{givers[5]}> und <@{givers[6]}>, in allybot festgehalten" in last
