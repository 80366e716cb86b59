"""A transaction's first locks (dm_budget.lock) ride in the trip of its BEGIN, after the
delivery's fence: one trip fewer for every kudos, with the same locks held, in the same
order, to the end of the transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from bot import on_driver
from bot.db import BEFORE_TRANSACTION, Database
from bot.services import dm_budget

KEY, PERSON = "kudos-giver:T0LOCK:U0ANN", "person:T0LOCK:U0BOB"


@pytest.fixture
def postgres(db: Database, backend: str) -> Database:
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time: it takes no locks")
    return db


def _logged(connection: Any, sent: list[str]) -> None:
    connection.connection.dbapi_connection._connection.add_query_logger(
        lambda record: sent.append(record.query)
    )


async def _held_elsewhere(db: Database, key: str) -> bool:
    """Whether another transaction holds `key`: this one cannot take it shared."""
    async with db.session() as session:
        free = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock_shared(hashtext(:k))"), {"k": key}
        )
    return not free


async def _first_lock(
    db: Database, keys: list[str], shared: list[str], *, fenced: bool
) -> list[str]:
    """Lock as a transaction's first statement (under a fence like a delivery's, or none);
    check the locks hold meanwhile; the queries asyncpg sent."""
    sent: list[str] = []

    def fence(connection: Any) -> None:
        _logged(connection, sent)
        on_driver.run_script_now(connection, "SELECT 11")

    token = BEFORE_TRANSACTION.set(fence if fenced else None)
    try:
        async with db.session() as session:
            if not fenced:
                _logged((await session.connection()).sync_connection, sent)  # begins nothing yet
            await dm_budget.lock(session, keys, shared)
            for key in [*keys, *shared]:
                assert await _held_elsewhere(db, key) == (key in keys), key
            assert await session.scalar(select(7)) == 7
    finally:
        BEFORE_TRANSACTION.reset(token)
    for key in [*keys, *shared]:
        assert not await _held_elsewhere(db, key), "held after the commit"
    return sent


@pytest.mark.parametrize(("fenced", "fence"), [(True, "SELECT 11; "), (False, "")])
async def test_the_first_locks_ride_in_the_begins_trip_after_any_fence(
    postgres: Database, fenced: bool, fence: str
) -> None:
    sent = await _first_lock(postgres, [KEY], [PERSON], fenced=fenced)
    assert sent[0] == (
        f"BEGIN ISOLATION LEVEL READ COMMITTED; {fence}"
        f"SELECT pg_advisory_xact_lock(hashtext('{KEY}')); "
        f"SELECT pg_advisory_xact_lock_shared(hashtext('{PERSON}'))"
    ), sent
    assert not any("advisory" in q for q in sent[1:]), sent


async def test_a_key_that_is_not_plain_is_bound_not_written_into_the_sql(
    postgres: Database,
) -> None:
    odd = "person:T0LOCK:U0'; SELECT pg_sleep(9); --"
    sent = await _first_lock(postgres, [odd], [], fenced=True)
    assert sent[0] == "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 11", sent
    assert "unnest" in sent[1] and "pg_sleep" not in " ".join(sent), sent


async def test_locks_after_the_first_statement_are_a_statement_of_their_own(
    postgres: Database,
) -> None:
    sent: list[str] = []
    async with postgres.session() as session:
        _logged((await session.connection()).sync_connection, sent)
        assert await session.scalar(select(3)) == 3
        await dm_budget.lock(session, [KEY])
        assert await _held_elsewhere(postgres, KEY)
    assert sent[0] == "BEGIN ISOLATION LEVEL READ COMMITTED;" and "unnest" in sent[1], sent
