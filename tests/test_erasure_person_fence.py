"""A kudos being given to someone who erases their data at that moment, by a delivery that
does not name them (a +1 on a post: the erase cannot stop it): it is either stored before
the erase and then anonymised by it, or not stored at all; never kept under their id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.models import Kudos, Person
from bot.services import kudos, privacy
from bot.services.kudos import GiveResult, ParsedKudos
from bot.services.people import ensure_workspace, get_people
from tests.helpers import new_id, seed_people


async def _people(db: Database, n: int) -> tuple[str, list[Person]]:
    team_id = new_id("T")
    ids = await seed_people(db, None, team_id=team_id, people=[{} for _ in range(n)])
    async with db.session() as session:
        found = await get_people(session, team_id=team_id, user_ids=ids)
    return team_id, [found[uid] for uid in ids]


async def _give(db: Database, team_id: str, giver: Person, receivers: list[str]) -> GiveResult:
    async with db.session() as session:
        return await _give_in(session, team_id, giver, receivers)


async def _give_in(
    session: AsyncSession, team_id: str, giver: Person, receivers: list[str]
) -> GiveResult:
    workspace = await ensure_workspace(session, team_id=team_id)
    return await kudos.give(
        session,
        workspace=workspace,
        giver=giver,
        parsed=ParsedKudos(receivers=tuple(receivers), reason="calm release", tags=()),
        channel_id="C1",
        source="reaction",
        source_key=new_id("reaction:"),
        now=datetime.now(UTC),
    )


async def _erase(db: Database, team_id: str, user_id: str) -> None:
    async with db.session() as session:
        await privacy.erase(session, team_id=team_id, user_id=user_id)


async def _receivers(db: Database, team_id: str) -> list[str]:
    async with db.session() as session:
        rows = await session.execute(select(Kudos.receiver_id).where(Kudos.team_id == team_id))
        return sorted(rows.scalars())


async def test_a_kudos_to_someone_erased_since_they_were_read_is_not_stored(db: Database) -> None:
    team_id, (giver, ann, bob) = await _people(db, 3)
    await _erase(db, team_id, ann.user_id)  # after the delivery read her profile
    result = await _give(db, team_id, giver, [ann.user_id])
    assert result.kudos == []
    result = await _give(db, team_id, giver, [ann.user_id, bob.user_id])
    assert [k.receiver_id for k in result.kudos] == [bob.user_id]
    assert await _receivers(db, team_id) == [bob.user_id]


async def test_an_erase_waits_for_a_kudos_being_given_then_anonymises_it(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no erase begins while a kudos is given")
    team_id, (giver, ann) = await _people(db, 2)
    async with db.session() as session:
        given = await _give_in(session, team_id, giver, [ann.user_id])
        assert [k.receiver_id for k in given.kudos] == [ann.user_id]
        erase = asyncio.create_task(_erase(db, team_id, ann.user_id))
        await asyncio.sleep(0.5)
        assert not erase.done(), "the erase waits for the kudos being given"
    await asyncio.wait_for(erase, 10)
    stored = await _receivers(db, team_id)
    assert len(stored) == 1 and ann.user_id not in stored


async def test_a_kudos_given_while_an_erase_is_under_way_waits_and_stores_nothing(
    db: Database,
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no kudos is given during an erase")
    team_id, (giver, ann) = await _people(db, 2)
    async with db.session() as session:
        await privacy.erase(session, team_id=team_id, user_id=ann.user_id)
        give = asyncio.create_task(_give(db, team_id, giver, [ann.user_id]))
        await asyncio.sleep(0.5)
        assert not give.done(), "the kudos waits for the erase under way"
    result = await asyncio.wait_for(give, 10)
    assert result.kudos == []
    assert await _receivers(db, team_id) == []
