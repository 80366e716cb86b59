"""Give-back and breadth look at weeks of kudos once per workspace, zone and local day
(scheduler/kinds/looks.py): the first pass of a zone's day stores who is due, later passes
that day reuse it, the next local day looks again; and what a look stores is what the rules
say, computed here from the kudos themselves. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.models import Nudge
from bot.suggestion_models import SuggestionCandidate, SuggestionLook
from scheduler.kinds import PlanContext, allies, looks
from scheduler.zones import clock_table, clocks_now
from tests.helpers import a_kudos, at, new_id, seed_people

LONDON, TOKYO = "Europe/London", "Asia/Tokyo"


async def give(db: Database, team: str, giver: str, receiver: str, when: datetime) -> None:
    async with db.session() as session:
        session.add(a_kudos(team, giver, receiver, at=when))


async def plan_suggestions(db: Database, team: str, now: datetime) -> tuple[int, dict[str, int]]:
    """One pass of both kinds at `now`, kept: the looks it took, and what it planned."""
    async with db.session() as session:
        clocks = await clocks_now(session, now, team_id=team)
        ctx = PlanContext(now=now, clocks=clock_table(clocks), team_id=team)
        taken = await looks.look(session, ctx)
        planned = {
            allies.GIVE_BACK: await allies.plan_give_back(session, ctx),
            allies.BREADTH: await allies.plan_breadth(session, ctx),
        }
    return taken, planned


async def candidates(db: Database, team: str) -> set[tuple[str, str, str, str]]:
    """(kind, local day, person, subject) of every stored candidate of the workspace."""
    async with db.session() as session:
        rows = await session.execute(
            select(
                SuggestionCandidate.kind,
                SuggestionCandidate.local_day,
                SuggestionCandidate.user_id,
                SuggestionCandidate.subject,
            ).where(SuggestionCandidate.team_id == team)
        )
        return {(k, d.isoformat(), u, s) for k, d, u, s in rows.all()}


async def test_a_look_is_reused_all_day_and_taken_again_the_next_local_day(
    db: Database,
) -> None:
    team = new_id("T")
    ann, bob, cy, dee = await seed_people(
        db, None, team_id=team, people=[{"tz": LONDON, "tips_cadence": "off"}] * 4
    )
    await seed_people(db, None, team_id=team, people=[{"tz": TOKYO, "tips_cadence": "off"}])
    morning = at("2026-11-26 09:00", LONDON)  # a Thursday; 18:00 in Tokyo
    for minutes in (10, 20, 30):
        await give(db, team, bob, ann, morning - timedelta(days=2, minutes=minutes))

    taken, planned = await plan_suggestions(db, team, morning)
    assert taken == 2, "one look per zone the workspace's people are in"
    assert planned == {allies.GIVE_BACK: 1, allies.BREADTH: 0}
    assert await candidates(db, team) == {(allies.GIVE_BACK, "2026-11-26", ann, bob)}

    # Later the same day cy recognises dee three times: the day's look is not taken again,
    # so dee's suggestion waits for the next local day.
    for minutes in (1, 2, 3):
        await give(db, team, cy, dee, morning + timedelta(minutes=minutes))
    taken, planned = await plan_suggestions(db, team, morning + timedelta(hours=2))
    assert taken == 0
    assert planned == {allies.GIVE_BACK: 0, allies.BREADTH: 0}
    async with db.session() as session:
        looked = (
            await session.execute(
                select(SuggestionLook.tz, SuggestionLook.local_day).where(
                    SuggestionLook.team_id == team
                )
            )
        ).all()
    assert sorted((tz, day.isoformat()) for tz, day in looked) == sorted(
        [(TOKYO, "2026-11-26"), (LONDON, "2026-11-26")]
    )

    # The next local day in London (Friday 09:00; already Friday evening in Tokyo).
    taken, planned = await plan_suggestions(db, team, morning + timedelta(days=1))
    assert taken == 2
    assert planned == {allies.GIVE_BACK: 1, allies.BREADTH: 0}
    assert (allies.GIVE_BACK, "2026-11-27", dee, cy) in await candidates(db, team)
    async with db.session() as session:
        kinds = (
            await session.execute(
                select(Nudge.user_id, Nudge.subject).where(
                    Nudge.team_id == team, Nudge.kind == allies.GIVE_BACK
                )
            )
        ).all()
    assert sorted(kinds) == sorted([(ann, bob), (dee, cy)])


async def test_no_look_on_a_weekend_and_none_kept_past_two_days(db: Database) -> None:
    team = new_id("T")
    await seed_people(db, None, team_id=team, people=[{"tz": LONDON}])
    saturday = at("2026-11-28 10:00", LONDON)
    assert (await plan_suggestions(db, team, saturday))[0] == 0
    monday = at("2026-11-30 10:00", LONDON)
    assert (await plan_suggestions(db, team, monday))[0] == 1
    assert (await plan_suggestions(db, team, monday + timedelta(days=3)))[0] == 1
    async with db.session() as session:
        days = (
            await session.execute(
                select(SuggestionLook.local_day).where(SuggestionLook.team_id == team)
            )
        ).scalars()
        assert [d.isoformat() for d in days] == ["2026-12-03"]


def expected(kudos: list[tuple[str, str, datetime]], now: datetime) -> set[tuple[str, str, str]]:
    """The rules of give-back and breadth, computed from the kudos themselves."""
    recent = Counter((g, r) for g, r, when in kudos if when >= now - allies.GIVE_BACK_WINDOW)
    ever = {(g, r) for g, r, _ in kudos}
    found = {
        (allies.GIVE_BACK, r, g)
        for (g, r), n in recent.items()
        if n >= allies.GIVE_BACK_MIN and (r, g) not in ever
    }
    window = [(g, r) for g, r, when in kudos if when >= now - allies.BREADTH_WINDOW]
    for giver in {g for g, _ in window}:
        mine = [r for g, r in window if g == giver]
        if len(mine) >= allies.BREADTH_MIN_KUDOS and len(set(mine)) <= allies.BREADTH_MAX_PEOPLE:
            found.add((allies.BREADTH, giver, allies.BREADTH))
    return found


async def test_what_a_look_stores_is_what_the_rules_say(db: Database) -> None:
    team = new_id("T")
    now = at("2026-11-26 10:00", LONDON)  # Thursday: 19:00 in Tokyo, a working day there too
    _people, kudos = await seed_history(db, team, now)
    rule = expected(kudos, now)
    assert {k for k, _, _ in rule} == {allies.GIVE_BACK, allies.BREADTH}, "both kinds exercised"

    taken, _ = await plan_suggestions(db, team, now)
    assert taken == 2
    stored = await candidates(db, team)
    assert {(k, u, s) for k, _, u, s in stored} == rule
    assert {day for _, day, _, _ in stored} == {"2026-11-26"}  # both zones' local day
    # Stored once: the same pass again plans from them and finds nothing new to store.
    assert (await plan_suggestions(db, team, now))[0] == 0
    assert await candidates(db, team) == stored


async def seed_history(db: Database, team: str, now: datetime) -> tuple[list[str], list[Any]]:
    """Twelve people, half in London and half in Tokyo, and 160 kudos among them over 90 days
    (each giver's circle of a different width, so both kinds find someone)."""
    rng = random.Random(16)
    people = await seed_people(
        db,
        None,
        team_id=team,
        people=[{"tz": (LONDON, TOKYO)[i % 2], "tips_cadence": "off"} for i in range(12)],
    )
    kudos = []
    for _ in range(160):
        giver = rng.choice(people)
        receiver = rng.choice([p for p in people[: 2 + people.index(giver) % 5] if p != giver])
        kudos.append((giver, receiver, now - timedelta(minutes=rng.randrange(90 * 24 * 60))))
    async with db.session() as session:
        for i, (giver, receiver, when) in enumerate(kudos):
            session.add(a_kudos(team, giver, receiver, at=when, key=f"k{i}"))
    return people, kudos


@pytest.mark.parametrize("everyone", [0.0, 2.0], ids=["workspace-at-once", "person-by-person"])
async def test_both_ways_of_looking_store_what_the_rules_say(
    db: Database, monkeypatch: pytest.MonkeyPatch, everyone: float
) -> None:
    """A look over most of a workspace counts all its recent kudos at once, a smaller one
    those of its people; forced each way, both store exactly the rules' candidates: for
    both zones, and for London alone when Tokyo's day is a Saturday (nobody there stored,
    though London's people recognise them and are recognised by them)."""
    monkeypatch.setattr(looks, "EVERYONE", everyone)
    team = new_id("T")
    thursday = at("2026-11-26 10:00", LONDON)  # 19:00 in Tokyo, a working day there too
    people, kudos = await seed_history(db, team, thursday)
    assert (await plan_suggestions(db, team, thursday))[0] == 2
    stored = await candidates(db, team)
    assert {(k, u, s) for k, _, u, s in stored} == expected(kudos, thursday)

    friday = at("2026-11-27 16:00", LONDON)  # Saturday 01:00 in Tokyo: only London looked at
    assert (await plan_suggestions(db, team, friday))[0] == 1
    london = set(people[0::2])
    rule = {(k, u, s) for k, u, s in expected(kudos, friday) if u in london}
    assert rule, "London's people are due something"
    stored = await candidates(db, team)
    assert {(k, u, s) for k, day, u, s in stored if day == "2026-11-27"} == rule


async def test_a_look_over_most_of_a_workspace_counts_all_its_kudos_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which way a look goes: by the share of the workspace's people in its zones."""
    seen: list[tuple[tuple[str, ...], bool]] = []
    find = looks._FINDERS["suggestions"]

    def recording(ctx: PlanContext, scope: looks.Scope) -> Any:
        seen.append((scope.zones, scope.everyone))
        return find(ctx, scope)

    monkeypatch.setitem(looks._FINDERS, "suggestions", recording)
    friday = at("2026-11-27 16:00", LONDON)  # Saturday in Tokyo: London alone is looked at
    mostly_london, mostly_tokyo = new_id("T"), new_id("T")
    for team, london in ((mostly_london, 3), (mostly_tokyo, 1)):
        await seed_people(
            db, None, team_id=team, people=[{"tz": LONDON}] * london + [{"tz": TOKYO}] * 2
        )
        assert (await plan_suggestions(db, team, friday))[0] == 1
    assert seen == [((LONDON,), True), ((LONDON,), False)]
