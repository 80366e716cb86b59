"""Each receiver's DM is admitted (bot.services.dm_budget) in the transaction that stores the
kudos: on PostgreSQL in the statement that writes the receiver's row, one trip fewer for every
kudos. Both backends decide alike: sent within the pair's budget, held past it (an item for
the receiver's daily message), muted without the giver knowing; a retry finds the decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db import Database
from bot.models import Nudge, Person
from bot.services import dm_budget, kudos
from bot.services.kudos import GiveResult, ParsedKudos, Telling
from bot.services.people import ensure_workspace, get_people
from bot.trust_models import Mute, PersonDM
from tests.helpers import new_id, seed_people

NOW = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # already the 8th in Tokyo


async def _people(db: Database, n: int) -> tuple[str, list[Person]]:
    team_id = new_id("T")
    people = [{"tz": "Asia/Tokyo"} for _ in range(n)]
    ids = await seed_people(db, None, team_id=team_id, people=people)
    async with db.session() as session:
        workspace = await ensure_workspace(session, team_id=team_id)
        workspace.daily_kudos_limit = 50  # the DM budget is reached first
        found = await get_people(session, team_id=team_id, user_ids=ids)
    return team_id, [found[uid] for uid in ids]


async def _give(
    db: Database,
    team_id: str,
    giver: Person,
    receivers: list[Person],
    *,
    source_key: str | None = None,
    told: list[Person] | None = None,
    sent: list[str] | None = None,
    now: datetime = NOW,
) -> GiveResult:
    told = receivers if told is None else told
    async with db.session() as session:
        if sent is not None and db.dialect == "postgresql":
            raw = await (await session.connection()).get_raw_connection()
            driver: Any = raw.dbapi_connection
            driver._connection.add_query_logger(lambda record: sent.append(record.query))
        workspace = await ensure_workspace(session, team_id=team_id)
        return await kudos.give(
            session,
            workspace=workspace,
            giver=giver,
            parsed=ParsedKudos(
                receivers=tuple(r.user_id for r in receivers), reason="the calm release", tags=()
            ),
            channel_id="C1",
            source="command",
            source_key=source_key or new_id("command:"),
            now=now,
            telling=Telling(zones={r.user_id: r.tz for r in told}, key_suffix=":d42"),
        )


async def _ledger(db: Database, team_id: str) -> list[tuple[str, str, str, Any]]:
    async with db.session() as session:
        rows = await session.execute(
            select(PersonDM.recipient_id, PersonDM.key, PersonDM.outcome, PersonDM.local_day)
            .where(PersonDM.team_id == team_id)
            .order_by(PersonDM.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_each_receivers_dm_is_admitted_with_its_row(db: Database) -> None:
    team_id, (ann, bob, cy, dee) = await _people(db, 4)
    sent: list[str] = []
    # dee is not told (a member of another organisation, say): no DM is admitted for her.
    given = await _give(db, team_id, ann, [bob, cy, dee], told=[bob, cy], sent=sent)
    ids = {row.receiver_id: row.id for row in given.kudos}
    assert set(given.admissions) == {ids[bob.user_id], ids[cy.user_id]}
    assert {a.outcome for a in given.admissions.values()} == {dm_budget.SENT}
    ledger = await _ledger(db, team_id)
    assert [(r, k, o) for r, k, o, _ in ledger] == [
        (bob.user_id, f"kudos:{ids[bob.user_id]}:d42", "sent"),
        (cy.user_id, f"kudos:{ids[cy.user_id]}:d42", "sent"),
    ]
    assert {day.isoformat() for *_, day in ledger} == {"2026-12-08"}  # the receiver's day
    if db.dialect == "postgresql":
        writes = [q for q in sent if "INSERT INTO" in q]
        # One statement per receiver: the row, and with it the DM of those told.
        assert len(writes) == 3, writes
        assert sum("person_dms" in q for q in writes) == 2
        assert not any(q.lstrip().upper().startswith("INSERT INTO PERSON_DMS") for q in sent)


async def test_past_the_budget_it_is_held_and_a_mute_is_kept(db: Database) -> None:
    team_id, (ann, bob, cy) = await _people(db, 3)
    async with db.session() as session:
        session.add(Mute(team_id=team_id, user_id=cy.user_id, muted_id=ann.user_id))
    outcomes = []
    for n in range(dm_budget.DEFAULT_BUDGET + 1):  # each past the merge window
        given = await _give(db, team_id, ann, [bob, cy], now=NOW + n * timedelta(minutes=11))
        outcomes.append(
            sorted((k.receiver_id, given.admissions[k.id].outcome) for k in given.kudos)
        )
    assert outcomes[:-1] == [sorted([(bob.user_id, "sent"), (cy.user_id, "muted")])] * 5
    assert outcomes[-1] == sorted([(bob.user_id, "held"), (cy.user_id, "held")])
    async with db.session() as session:
        held = list(
            (await session.execute(select(Nudge).where(Nudge.team_id == team_id))).scalars()
        )
    # Held for bob's daily message (what it is about, nothing he was sent); cy muted ann.
    assert [(n.user_id, n.kind, n.subject) for n in held] == [
        (bob.user_id, dm_budget.HELD_KIND, ann.user_id)
    ]
    assert held[0].payload["kind"] == "kudos" and "kudos" in held[0].payload


async def test_a_retry_finds_what_was_decided(db: Database) -> None:
    team_id, (ann, bob) = await _people(db, 2)
    key = new_id("command:")
    first = await _give(db, team_id, ann, [bob], source_key=key)
    again = await _give(db, team_id, ann, [bob], source_key=key)
    assert [k.id for k in again.kudos] == [k.id for k in first.kudos] and not again.new
    (row,) = again.kudos
    assert first.admissions[row.id] == dm_budget.Admission(outcome="sent")
    assert again.admissions[row.id] == dm_budget.Admission(outcome="sent", retry=True)
    assert len(await _ledger(db, team_id)) == 1
