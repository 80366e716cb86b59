"""A pass's kinds planned from the day's look run in a transaction of their own beside the
others' on PostgreSQL (both of its cores busy in a first pass), in turn on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, dialect_of
from scheduler import kinds
from scheduler.planner import plan
from tests.helpers import at, item_kind, new_id, nudges_of, running_bot, seed_people
from tests.slack_double import SlackDouble

TZ = "Europe/Madrid"
NOW = at("2026-11-26 10:00", TZ)  # a Thursday, in the window


@pytest.fixture
async def bot(database_url: str, slack: SlackDouble, db: Database) -> AsyncIterator[object]:
    async with running_bot(database_url, slack) as running:
        yield running


@pytest.fixture
async def person(db: Database, slack: SlackDouble) -> tuple[str, str]:
    team = new_id("T")
    (user,) = await seed_people(db, slack, team_id=team, people=[{"tz": TZ}])
    return team, user


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names of the test kinds registered, unregistered after the test."""
    names: list[str] = []
    yield names
    for name in names:
        kinds.unregister(name)


async def test_the_looks_kinds_plan_in_their_own_transaction_beside_the_others(
    bot: object, db: Database, person: tuple[str, str], registered: list[str]
) -> None:
    team, user = person
    started = {"looks": asyncio.Event(), "others": asyncio.Event()}
    seen: list[tuple[str, object]] = []

    def meet(lane: str, other: str) -> object:
        async def first(session: AsyncSession) -> None:
            if dialect_of(session) == "postgresql":
                txid = (await session.execute(text("SELECT txid_current()"))).scalar_one()
                seen.append((lane, txid))
                started[lane].set()
                # Each waits for the other to have begun: only lanes that run at once meet.
                await asyncio.wait_for(started[other].wait(), timeout=30)
            else:
                seen.append((lane, id((await session.connection()).sync_connection)))

        return first

    registered += ["lane_looks", "lane_others"]
    kinds.register(
        item_kind("lane_looks", 51, team, user, "Looked", looks=True, first=meet("looks", "others"))
    )
    kinds.register(item_kind("lane_others", 52, team, user, "Other", first=meet("others", "looks")))

    result, _ = await plan(bot, now=NOW, team_id=team)  # type: ignore[arg-type]

    assert result.planned["lane_looks"] == result.planned["lane_others"] == 1
    assert list(result.planned) == [k.name for k in kinds.all_kinds()]  # bundle order
    assert {n.kind for n in await nudges_of(db, team)} >= {"lane_looks", "lane_others"}
    lanes = dict(seen)
    if db.dialect == "postgresql":
        assert lanes["looks"] != lanes["others"]  # two transactions
    else:
        assert [lane for lane, _ in seen] == ["looks", "others"]  # in bundle order, in turn
        assert lanes["looks"] == lanes["others"]  # on the one connection


async def test_a_kind_failing_beside_the_others_fails_the_pass_and_stores_none_of_theirs(
    bot: object, db: Database, person: tuple[str, str], registered: list[str]
) -> None:
    team, user = person

    async def fail(session: AsyncSession) -> None:
        raise RuntimeError("the look failed")

    registered += ["lane_failing", "lane_others"]
    kinds.register(item_kind("lane_failing", 51, team, user, "Looked", looks=True, first=fail))
    kinds.register(item_kind("lane_others", 52, team, user, "Other"))

    with pytest.raises(RuntimeError, match="the look failed"):  # itself, not a group
        await plan(bot, now=NOW, team_id=team)  # type: ignore[arg-type]
    assert await nudges_of(db, team) == []  # the others' transaction rolled back

    kinds.unregister("lane_failing")
    result, _ = await plan(bot, now=NOW, team_id=team)  # type: ignore[arg-type]
    assert result.planned["lane_others"] == 1
    assert "lane_others" in {n.kind for n in await nudges_of(db, team)}
