"""`/commit` in the person's language through `allybot serve`: the date read in Spanish or
German, the promise stored with that instant, and what was understood shown back with the
date written the way the person's language writes it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import i18n
from bot.blocks.commitments import when_text
from bot.db import Database
from tests.conftest import Server, Team
from tests.slack_double import SlackDouble
from tests.test_commitments_e2e import commit, commitments_of

MADRID, BERLIN = "Europe/Madrid", "Europe/Berlin"


def words_of(blocks: object) -> str:
    """Every text a Block Kit payload shows, as one string (accents as they are)."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
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

    walk(blocks)
    return "\n".join(found)


def ahead(tz: str, days: int = 10) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(tz)).date() + timedelta(days=days)


@pytest.mark.parametrize(
    ("locale", "tz", "phrase", "promise", "english"),
    [
        (
            "es-ES",
            MADRID,
            "enviar el informe a <@{bob}> para el {d}/{m} a las 15h",
            "enviar el informe",
            "Looks right",
        ),
        (
            "de-DE",
            BERLIN,
            "Bericht an <@{bob}> schicken bis {d}.{m}. 15 Uhr",
            "Bericht schicken",
            "Looks right",
        ),
    ],
)
async def test_a_commit_in_the_persons_language(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    locale: str,
    tz: str,
    phrase: str,
    promise: str,
    english: str,
) -> None:
    owner, bob = team.user("ana", tz=tz, locale=locale), team.user("bob", tz=tz)
    day = ahead(tz)
    reply = await commit(server, team, slack, owner, phrase.format(bob=bob, d=day.day, m=day.month))
    (stored,) = await commitments_of(db, team.team_id)
    due = datetime.combine(day, time(15, 0), tzinfo=ZoneInfo(tz))
    assert stored.due_at is not None and stored.due_at == due
    assert stored.text == promise
    shown = words_of(reply.args["blocks"])
    with i18n.speaking(locale[:2]):
        understood = when_text(stored.due_at, tz)
        weekday = i18n.weekday_name(day.weekday(), "abbreviated")
    assert understood in shown and weekday in understood
    assert promise in shown and english not in shown


async def test_english_keeps_working_for_a_spanish_speaker(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    owner = team.user("eva", tz=MADRID, locale="es-ES")
    await commit(server, team, slack, owner, "send the deck by in 2 weeks")
    (stored,) = await commitments_of(db, team.team_id)
    assert stored.due_at is not None
    assert stored.due_at.astimezone(ZoneInfo(MADRID)).date() == ahead(MADRID, 14)


async def test_a_date_the_person_cannot_mean_is_refused_in_their_words(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    owner = team.user("udo", tz=BERLIN, locale="de-DE")
    reply = await commit(server, team, slack, owner, "Bericht schicken bis gestern")
    assert "gestern" in str(reply.args["text"])
    assert await commitments_of(db, team.team_id) == []
