"""`Database.reading()`: reads that need no snapshot in common, without BEGIN and COMMIT on
PostgreSQL (two round trips fewer per read-ahead), a plain transaction on SQLite."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.db import Database
from bot.models import Workspace
from bot.services import people
from tests.helpers import new_id


async def test_reading_sees_committed_rows_and_writes_nothing_of_its_own(db: Database) -> None:
    team = new_id("T")
    async with db.session() as session:
        await people.ensure_workspace(session, team_id=team)
    async with db.reading() as session:
        found = await session.scalar(select(Workspace.team_id).where(Workspace.team_id == team))
    assert found == team


async def test_each_read_on_postgresql_is_a_transaction_of_its_own(db: Database) -> None:
    """now() is the start of the statement's transaction: inside BEGIN … COMMIT it stays put
    from one statement to the next; run on its own, each statement starts its own."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite: reading() is session(), its reads no trip to the server")
    instants = []
    async with db.reading() as session:
        for _ in range(2):
            instants.append(await session.scalar(text("SELECT CAST(now() AS TEXT)")))
            await asyncio.sleep(0.01)
    in_one = []
    async with db.session() as session:
        for _ in range(2):
            in_one.append(await session.scalar(text("SELECT CAST(now() AS TEXT)")))
            await asyncio.sleep(0.01)
    assert instants[0] != instants[1], "each statement its own transaction"
    assert in_one[0] == in_one[1], "a session() is one transaction"
