"""A pass's kinds planned from the day's look run in a transaction of their own beside the
others' on PostgreSQL (both of its cores busy in a first pass), in turn on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, dialect_of
from bot.models import Resolve
from bot.services import privacy
from bot.suggestion_models import SuggestionCandidate
from scheduler import kinds
from scheduler.kinds import allies
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


async def test_a_kind_failing_beside_the_others_fails_the_pass_and_stops_theirs(
    bot: object, db: Database, person: tuple[str, str], registered: list[str]
) -> None:
    team, user = person

    async def fail(session: AsyncSession) -> None:
        raise RuntimeError("the look failed")

    async def still_planning(session: AsyncSession) -> None:
        # Still planning when the look fails (at once), stopped here or before. Not a
        # wait_for on an event the failure sets: on Python 3.11 a wait_for whose awaited
        # event is set as its task is cancelled can swallow the cancellation.
        if dialect_of(session) == "postgresql":
            await asyncio.sleep(30)

    registered += ["lane_failing", "lane_others"]
    kinds.register(item_kind("lane_failing", 51, team, user, "Looked", looks=True, first=fail))
    kinds.register(item_kind("lane_others", 52, team, user, "Other", first=still_planning))

    with pytest.raises(RuntimeError, match="the look failed"):  # itself, not a group
        await plan(bot, now=NOW, team_id=team)  # type: ignore[arg-type]
    assert await nudges_of(db, team) == []  # the others' transaction rolled back

    kinds.unregister("lane_failing")
    kinds.register(item_kind("lane_others", 52, team, user, "Other"))
    result, _ = await plan(bot, now=NOW, team_id=team)  # type: ignore[arg-type]
    assert result.planned["lane_others"] == 1
    assert "lane_others" in {n.kind for n in await nudges_of(db, team)}


async def test_an_erase_waiting_on_the_others_while_the_look_waits_on_it_does_not_hang_the_pass(
    bot: object, db: Database, slack: SlackDouble, registered: list[str]
) -> None:
    """The look's kinds wait on an erase that waits on what the other kinds planned (a
    conversation's follow-up naming the person erased): PostgreSQL sees no deadlock in
    that unless the other kinds' transaction ends when they are done, as a replica's does."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans every kind in one transaction, one writer at a time")
    team = new_id("T")
    ann, bob, yan = await seed_people(db, slack, team_id=team, people=[{"tz": TZ}] * 3)
    async with db.session() as session:
        # Yan's follow-up is due today, about a talk that names ann; ann was found due a
        # give-back days ago (a row the day's look forgets).
        session.add(
            Resolve(
                team_id=team,
                user_id=yan,
                other_id=bob,
                topic=f"the handover <@{ann}> left",
                follow_up_day=NOW.date() - timedelta(days=2),
                source_key=new_id("resolve:"),
            )
        )
        session.add(
            SuggestionCandidate(
                team_id=team,
                kind=allies.GIVE_BACK,
                local_day=NOW.date() - timedelta(days=5),
                tz=TZ,
                user_id=ann,
                subject=bob,
            )
        )
    resolved, erased = asyncio.Event(), asyncio.Event()
    erase_pid: list[int] = []

    async def erase() -> None:
        await resolved.wait()
        async with db.session() as session:
            erase_pid.append((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await privacy.erase(session, team_id=team, user_id=ann)
        erased.set()

    async def after_resolves(session: AsyncSession) -> None:
        resolved.set()  # the follow-up is planned: yan's conversation is this pass's

    async def until_erase_waits(session: AsyncSession) -> None:
        # The look goes on once the erase waits for the follow-up planned (or is done).
        for _ in range(200):
            if erased.is_set():
                return
            if erase_pid:
                sql = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
                waits = (await session.execute(sql, {"pid": erase_pid[0]})).scalar_one_or_none()
                if waits == "Lock":
                    return
            await asyncio.sleep(0.05)
        raise AssertionError("the erase neither waited for the follow-up nor ended")

    registered += ["lane_after_resolves", "lane_until_erase_waits"]
    kinds.register(
        item_kind("lane_after_resolves", 41, team, yan, "Resolved", first=after_resolves)
    )
    kinds.register(
        item_kind(
            "lane_until_erase_waits", 45, team, yan, "Erasing", looks=True, first=until_erase_waits
        )
    )
    erasing = asyncio.create_task(erase())
    try:
        result, _ = await asyncio.wait_for(plan(bot, now=NOW, team_id=team), timeout=20)  # type: ignore[arg-type]
    finally:
        await asyncio.wait_for(erasing, timeout=20)
    assert result.planned[allies.RESOLVE] == 1
    async with db.session() as session:
        left = await session.execute(
            select(SuggestionCandidate).where(SuggestionCandidate.team_id == team)
        )
        assert list(left.scalars()) == []  # the erase's and the look's
        topic = await session.execute(select(Resolve.topic).where(Resolve.team_id == team))
        assert ann not in topic.scalar_one()
