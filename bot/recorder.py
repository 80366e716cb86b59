"""Group commit for the ack path: deliveries that arrive together are recorded in one
transaction, so each ack waits for one short commit instead of queueing behind the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.db import Database
from bot.group_commit import GroupCommit
from bot.services import inbound
from bot.sqlite_driver import on_the_loop


@dataclass(frozen=True)
class _Delivery:
    team_id: str
    key: str
    kind: str
    payload: dict[str, Any]


class Recorder:
    """Callers await their own delivery's outcome: its id, or None when the same delivery
    was recorded before (which includes earlier in the same batch).

    `claimed`: this process works on what it records, so each new row is stored already
    claimed by it (version 1, its lease running): no claim statement follows the ack. When
    worker processes do the work, rows are stored unclaimed for them to take."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.claimed = False
        self._commits: GroupCommit[_Delivery, int | None] = GroupCommit(
            self._write, name="deliveries"
        )

    async def record(
        self, *, team_id: str, key: str, kind: str, payload: dict[str, Any]
    ) -> int | None:
        return await self._commits.submit(_Delivery(team_id, key, kind, payload))

    async def _write(self, batch: Sequence[_Delivery]) -> list[int | None]:
        rows = [
            {"team_id": d.team_id, "key": d.key, "kind": d.kind, "payload": d.payload}
            for d in batch
        ]
        attempts = inbound.CLAIMED_AT_BIRTH if self.claimed else 0
        with on_the_loop():  # one short statement (bot.sqlite_driver)
            async with self.db.one_statement() as conn:
                ids = await inbound.record_many(
                    conn, rows=rows, now=datetime.now(UTC), attempts=attempts
                )
        # The first of two copies in one batch gets the id; the other is a duplicate.
        return [ids.pop((d.team_id, d.key), None) for d in batch]

    async def close(self) -> None:
        await self._commits.close()
