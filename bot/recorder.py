"""Group commit for the ack path: deliveries that arrive together are recorded in one
transaction, so each ack waits for one short commit instead of queueing behind the others."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.db import Database
from bot.services import inbound

MAX_BATCH = 200


@dataclass
class _Pending:
    team_id: str
    key: str
    kind: str
    payload: dict[str, Any]
    done: asyncio.Future[int | None] = field(repr=False)


class Recorder:
    """One writer task; callers await their own delivery's outcome (its id, or None when the
    same delivery was recorded before, which includes earlier in the same batch)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def record(
        self, *, team_id: str, key: str, kind: str, payload: dict[str, Any]
    ) -> int | None:
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(team_id, key, kind, payload, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        self._wakeup.set()
        return await done

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._write(batch)

    async def _write(self, batch: list[_Pending]) -> None:
        try:
            async with self.db.session() as session:
                ids = await inbound.record_many(
                    session,
                    rows=[
                        {"team_id": p.team_id, "key": p.key, "kind": p.kind, "payload": p.payload}
                        for p in batch
                    ],
                    now=datetime.now(UTC),
                )
        except Exception as exc:  # each caller answers Slack with an error, so Slack retries
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(exc)
            return
        for p in batch:
            # The first of two copies in one batch gets the id; the other is a duplicate.
            p.done.set_result(ids.pop((p.team_id, p.key), None))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
