"""Group commit for the end of the work after an ack: the deliveries that end at about the
same moment are marked done, with what each did (its outcome steps, e.g. "the post went
out"), in one transaction instead of one each.

On PostgreSQL a batch whose steps are all of one kind that can ride in the statement marking
the deliveries done (`FinishesWith`, a kudos' marks) is that one statement, on a connection
in autocommit: one trip for the batch instead of BEGIN, two statements and COMMIT.

A delivery whose outcome is still queued when the process dies is resumed by another pass
(its lease runs out), which looks in Slack for what it finds unmarked before posting: the
window is one batch long, the guarantee the same as a crash a moment before the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.db import Database
from bot.group_commit import GroupCommit
from bot.services import inbound
from bot.sqlite_driver import on_the_loop


@runtime_checkable
class Combinable(Protocol):
    """An outcome step whose copies from many deliveries run as one (one UPDATE of many
    rows instead of one each)."""

    @classmethod
    def combined(cls, steps: Sequence[Any]) -> Combinable: ...

    async def __call__(self, session: AsyncSession) -> None: ...


@runtime_checkable
class FinishesWith(Protocol):
    """An outcome step that marks the deliveries done itself, with its own writes, in one
    statement (PostgreSQL): `finish_with` returns the (id, claim version) pairs marked, as
    `inbound.finish_many` does, and writes only the steps of those; `fits` says whether the
    steps of a batch (one list a delivery) can be written so."""

    @classmethod
    def fits(cls, steps: Sequence[Sequence[Any]]) -> bool: ...

    @classmethod
    async def finish_with(
        cls, conn: AsyncConnection, ending: Sequence[tuple[int, int, Sequence[Any]]], now: datetime
    ) -> set[tuple[int, int]]: ...


OutcomeStep = Executable | Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class _Outcome:
    inbound_id: int
    attempt: int
    steps: Sequence[OutcomeStep]


async def run_steps(session: AsyncSession, steps: Sequence[OutcomeStep]) -> None:
    """Run outcome steps in a transaction, each kind of combinable step once for all."""
    alike: dict[type[Combinable], list[Combinable]] = {}
    for step in steps:
        if isinstance(step, Combinable):
            kind: type[Combinable] = type(step)
            alike.setdefault(kind, []).append(step)
        elif isinstance(step, Executable):
            await session.execute(step)
        else:
            await step(session)
    for kind, same in alike.items():
        await (same[0] if len(same) == 1 else kind.combined(same))(session)


class Outcomes:
    """`done` marks one delivery done with its steps, in the batch it arrives with."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._commits: GroupCommit[_Outcome, bool] = GroupCommit(
            self._write, name="outcomes", each_alone=True
        )

    async def done(self, inbound_id: int, *, attempt: int, steps: Sequence[OutcomeStep]) -> bool:
        """True once committed; False when another process took the delivery over meanwhile
        (its lease ran out): then nothing of this run's outcome is saved."""
        return await self._commits.submit(_Outcome(inbound_id, attempt, steps))

    async def _write(self, batch: Sequence[_Outcome]) -> list[bool]:
        with on_the_loop():  # a few short statements (bot.sqlite_driver)
            return await self._write_batch(batch)

    async def _write_batch(self, batch: Sequence[_Outcome]) -> list[bool]:
        kinds = {type(step) for outcome in batch for step in outcome.steps}
        kind: Any = next(iter(kinds), None)
        if self.db.dialect == "postgresql" and (
            not kinds
            or (
                len(kinds) == 1
                and issubclass(kind, FinishesWith)
                and kind.fits([o.steps for o in batch])
            )
        ):
            return await self._in_one_statement(batch, kind)
        async with self.db.session() as session:
            return await _finish(session, batch)

    async def _in_one_statement(self, batch: Sequence[_Outcome], kind: Any) -> list[bool]:
        """The batch as one statement in autocommit: the deliveries marked done, with the
        steps of those still held when `kind` (a FinishesWith) writes them."""
        held, now = [(o.inbound_id, o.attempt) for o in batch], datetime.now(UTC)
        async with self.db.one_statement() as conn:
            if kind is None:  # nothing but the deliveries to mark done
                mine = await inbound.finish_alone(conn, held=held, now=now)
            else:
                ending = [(o.inbound_id, o.attempt, o.steps) for o in batch]
                mine = await kind.finish_with(conn, ending, now)
        return [pair in mine for pair in held]

    async def close(self) -> None:
        await self._commits.close()


async def _finish(session: AsyncSession, batch: Sequence[_Outcome]) -> list[bool]:
    mine = await inbound.finish_many(
        session, held=[(o.inbound_id, o.attempt) for o in batch], now=datetime.now(UTC)
    )
    # By claim version, not id alone: a stale run's outcome may share the batch with its owner's.
    ended = [o for o in batch if (o.inbound_id, o.attempt) in mine]
    await run_steps(session, [s for o in ended for s in o.steps])
    return [(o.inbound_id, o.attempt) in mine for o in batch]
