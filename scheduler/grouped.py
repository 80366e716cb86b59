"""Group commit for the sender's writes: items submitted while one group is being written go
together in the next, so many concurrent sends share one transaction instead of one each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_GROUP = 100


class Grouped(Generic[T, R]):
    """`submit` an item and await its own result. `run` takes a group and returns one result
    per item, in order; when it raises for a group of several, each item is run alone, so
    one bad item fails by itself and the others still go through. One group is written at
    a time: a second writer would only make the groups smaller (and on SQLite wait for the
    one connection anyway)."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._run = run
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._queue:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            try:
                results = await self._run([item for item, _ in group])
            except Exception as exc:
                if len(group) == 1:
                    _settle(group[0][1], exc)
                    continue
                for item, done in group:
                    try:
                        (result,) = await self._run([item])
                    except Exception as alone:
                        _settle(done, alone)
                    else:
                        _settle(done, result)
                continue
            except BaseException as exc:  # cancelled: nobody may wait forever
                for _, done in [*group, *self._queue]:
                    _settle(done, exc)
                self._queue = []
                raise
            for (_, done), result in zip(group, results, strict=True):
                _settle(done, result)


def _settle(done: asyncio.Future[R], outcome: R | BaseException) -> None:
    if done.done():
        return
    if isinstance(outcome, asyncio.CancelledError):
        done.cancel()
    elif isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
