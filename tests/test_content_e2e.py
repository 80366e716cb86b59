"""Tips, their categories, conversation starters and the guide to a direct conversation are
content under stable ids: shown in each person's language, rated and rotated by id."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import i18n
from bot.blocks.allies import resolve_guide, third_party_help
from bot.db import Database
from bot.models import IntroMatch, TipShown, Workspace
from bot.services import guide
from bot.services.intros import rules as intro_rules
from bot.services.intros.starters import starter_text, starters
from bot.services.tips import History, choose, library
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot
from tests.slack_double import SlackDouble, group_dm_id
from tests.test_allies_e2e import ally_cmd, wait_until
from tests.test_commit_languages_e2e import words_of
from tests.test_intros_e2e import BOT_USER, intros_cmd, pass_at
from tests.test_settings_apply import run_apply

MADRID = "Europe/Madrid"
SHIPPED = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]


def test_the_content_counts() -> None:
    assert len(library().tips) == 80
    assert len(library().categories) == 10
    assert len(starters()) == 46
    assert len(guide.lines()) == 12


@pytest.mark.parametrize("code", SHIPPED)
def test_every_piece_of_content_has_its_own_words_in_each_language(code: str) -> None:
    """Each tip, category, starter and guide line reads differently from the English in
    every shipped language, and keeps its Slack markup."""
    lib = library()
    with i18n.speaking(code):
        pairs = [(t.text, t.shown()) for t in lib.tips]
        pairs += [(title, lib.title(key)) for key, title in lib.categories.items()]
        pairs += [(s.text, starter_text(s.id)) for s in starters()]
        pairs += [(text, guide.line(key)) for key, text in guide.lines().items()]
    assert len(pairs) == 80 + 10 + 46 + 12
    for english, shown in pairs:
        assert shown and shown != english
        assert shown.count("*") == english.count("*"), shown
        assert ("{" in shown) == ("{" in english), shown


def test_english_stays_the_source() -> None:
    tip = library().tips[0]
    assert tip.shown() == tip.text
    assert starter_text("s01") == starters()[0].text
    assert starter_text("retired-id") == starters()[0].text  # a retired id: the first one
    assert library().title("no-such-category") == ""


def test_the_guide_keeps_its_order_and_fills_in_person_and_topic() -> None:
    english = resolve_guide("U1", "the {plan}")  # braces in a topic are the person's words
    lines = english.splitlines()
    assert lines[0] == "*Talking to <@U1> about the {plan}*"
    assert [line[:2] for line in lines[1:6]] == ["1.", "2.", "3.", "4.", "5."]
    assert lines[-1].startswith("I'll check in with you in two working days")
    with i18n.speaking("de"):
        german = resolve_guide("U1", "the {plan}")
        hard = third_party_help()
    assert german.splitlines()[0] == "*Mit <@U1> über the {plan} sprechen*"
    assert german.count("\n") == english.count("\n")
    assert hard.startswith("*Wenn ein direktes Gespräch schwierig ist*")
    assert hard.count("\n• ") == 4


def test_rotation_is_by_id_whatever_the_language() -> None:
    """A person who changes language mid-cycle goes on with the same cycle: the choice sees
    ids and categories only, never the words."""
    lib = library()

    def run(languages: list[str]) -> list[str]:
        shown: list[tuple[str, str]] = []
        for code in languages:
            with i18n.speaking(code):
                past = History(
                    cycle=1,
                    seen=frozenset(t for t, _ in shown),
                    seen_categories=Counter(c for _, c in shown),
                    rejected=frozenset({"gossip_free"}),
                    last_category=shown[-1][1] if shown else None,
                )
                tip, cycle = choose(lib, past, seed="T1:U1")
                assert cycle == 1
                tip.shown()
                shown.append((tip.id, tip.category))
        return [t for t, _ in shown]

    english = run(["en"] * 30)
    mixed = run(list(itertools.islice(itertools.cycle(["es", "en", "de"]), 30)))
    assert mixed == english
    assert len(set(english)) == 30


@pytest.mark.parametrize(
    ("locale", "title", "first_step", "help_start"),
    [
        ("es-ES", "*Cómo hablar con <@{bob}> sobre el calendario*", "1. *Habla con esa", "*Cuando"),
        ("de-DE", "*Mit <@{bob}> über den Zeitplan sprechen*", "1. *Sprich mit der", "*Wenn"),
    ],
)
async def test_the_guide_to_a_direct_conversation_reads_in_the_persons_language(
    server: Server,
    team: Team,
    slack: SlackDouble,
    locale: str,
    title: str,
    first_step: str,
    help_start: str,
) -> None:
    ann, bob = team.user("ann", locale=locale), team.user("bob")
    topic = "el calendario" if locale.startswith("es") else "den Zeitplan"
    text = await ally_cmd(server, team, slack, ann, f"resolve <@{bob}> {topic}")
    lines = text.splitlines()
    assert lines[0] == title.format(bob=bob)
    assert lines[1].startswith(first_step)
    assert "Talk to them" not in text and "allybot" in lines[-1]
    with i18n.speaking(locale[:2]):
        assert text == resolve_guide(bob, topic)
        assert third_party_help().startswith(help_start)


async def change_locale(
    server: Server, team: Team, slack: SlackDouble, user: str, locale: str
) -> None:
    """The person picks another language in Slack; Slack says their profile changed."""
    slack.set_locale(user, locale)
    event = payloads.event_callback(
        payloads.user_change_event(slack.user(user)), team_id=team.team_id
    )
    assert (await server.post(event))[0] == 200


async def tips_shown(db: Database, team_id: str, user_id: str) -> list[TipShown]:
    async with db.session() as session:
        stmt = (
            select(TipShown)
            .where(TipShown.team_id == team_id, TipShown.user_id == user_id)
            .order_by(TipShown.id)
        )
        return list((await session.execute(stmt)).scalars())


async def test_a_tip_in_the_persons_language_and_its_rating_and_cycle_survive_a_change(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """A Spanish speaker gets the tip in Spanish and turns it down; after they switch Slack
    to German the next tip is German, the next one of the same cycle (chosen by id), and the
    rating stays on the first tip's id."""
    ana = team.user("ana", tz=MADRID, locale="es-ES")
    body, key = team.command("/ally", "tips daily", user_id=ana)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=at("2026-11-26 09:00", MADRID), team_id=team.team_id)
    (first,) = await tips_shown(db, team.team_id, ana)
    tip = library().by_id(first.tip_id)
    assert tip is not None
    (dm,) = [c for c in slack.calls_to("chat.postMessage", channel=ana) if c.ok]
    shown = words_of(dm.args["blocks"])
    with i18n.speaking("es"):
        assert tip.shown() in shown and library().title(tip.category) in shown
    assert tip.text not in shown and tip.text not in str(dm.args["text"])

    blocks = dm.args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    press = payloads.block_actions(
        user_id=ana,
        team_id=team.team_id,
        action_id="tip_not_for_me",
        value=str(first.id),
        block_id=f"tip:{first.id}",
        channel_id="D0TIPS",
        message_ts=payloads.fresh_ts(),
        message={"type": "message", "ts": payloads.fresh_ts(), "text": "", "blocks": blocks},
        response_url=slack.response_url("rated"),
    )
    assert (await server.post(press))[0] == 200

    async def rated() -> bool:
        return (await tips_shown(db, team.team_id, ana))[0].rating == "not_for_me"

    await wait_until(rated)

    await change_locale(server, team, slack, ana, "de-DE")
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=at("2026-11-27 09:00", MADRID), team_id=team.team_id)
    first_again, second = await tips_shown(db, team.team_id, ana)
    assert (first_again.tip_id, first_again.rating) == (first.tip_id, "not_for_me")
    past = History(
        cycle=1,
        seen=frozenset({first.tip_id}),
        seen_categories=Counter({first.category: 1}),
        rejected=frozenset(),
        last_category=first.category,
    )
    expected, cycle = choose(library(), past, seed=f"{team.team_id}:{ana}")
    assert (second.tip_id, second.cycle) == (expected.id, cycle) and cycle == 1
    later = [c for c in slack.calls_to("chat.postMessage", channel=ana) if c.ok][-1]
    with i18n.speaking("de"):
        assert expected.shown() in words_of(later.args["blocks"])
        assert library().title(expected.category) in words_of(later.args["blocks"])
    assert expected.text not in words_of(later.args["blocks"])


async def test_a_starter_in_the_groups_language_and_the_rotation_goes_on_by_id(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    database_url: str,
    tmp_path: Path,
) -> None:
    """Two Spanish speakers get their intro's conversation starter in Spanish; once both
    switch Slack to German, the next round's starter is German and the next one in the
    rotation, whose place is kept by id."""
    settings = tmp_path / "intros.yaml"
    settings.write_text(
        f"intros_channel: {team.channel_id}\nintros_cadence: every 2 weeks\n"
        "intros_day: monday\nintros_mode: opt-in\n"
    )
    code, _out, err = await run_apply(
        database_url, str(settings), "--team", team.team_id, "--create"
    )
    assert code == 0, err
    ana, ben = (team.user(n, tz=MADRID, locale="es-ES") for n in ("ana", "ben"))
    slack.set_members(team.channel_id, [ana, ben, BOT_USER])
    for person in (ana, ben):
        await intros_cmd(server, team, slack, person, "join")
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        day = intro_rules.next_round_day(workspace, datetime.now(UTC) + timedelta(days=1))
    first = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30)

    async def starters_so_far() -> list[str]:
        async with db.session() as session:
            stmt = (
                select(IntroMatch.starter_id)
                .where(IntroMatch.team_id == team.team_id)
                .order_by(IntroMatch.id)
            )
            return list((await session.execute(stmt)).scalars())

    def intro_words() -> list[str]:
        channel = group_dm_id([ana, ben, BOT_USER])
        posts = [c for c in slack.calls_to("chat.postMessage", channel=channel) if c.ok]
        return [words_of(c.args["blocks"]) for c in posts]

    await pass_at(database_url, slack, team, first)
    (one,) = await starters_so_far()
    (said,) = intro_words()
    english = {s.id: s.text for s in starters()}
    with i18n.speaking("es"):
        assert starter_text(one) in said
    assert english[one] not in said

    for person in (ana, ben):
        await change_locale(server, team, slack, person, "de-DE")
    before = len(intro_words())
    await pass_at(database_url, slack, team, first + timedelta(days=14))
    one_again, two = await starters_so_far()
    ids = [s.id for s in starters()]
    assert one_again == one and two == ids[(ids.index(one) + 1) % len(ids)]
    # The pass also follows up on the first round ("did you meet?"), in whichever order
    # the sender's posts land: the starter is in one of the new posts.
    new_posts = intro_words()[before:]
    with i18n.speaking("de"):
        assert [s for s in new_posts if starter_text(two) in s], new_posts
    assert not [s for s in new_posts if english[two] in s], new_posts
