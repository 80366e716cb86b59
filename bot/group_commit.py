"""Group commit: what many tasks hand in at about the same moment is written in one
transaction, each task awaiting its own item's answer. One transaction's fixed cost (BEGIN,
COMMIT, a pooled connection, the session) is then paid once a batch instead of once an item.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.logs import describe

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Answer = TypeVar("Answer")

MAX_BATCH = 200

# Writes a batch; returns one answer per item, in order, or an exception for an item that
# failed on its own (the others' answers stand).
WriteFn = Callable[[list[Item]], Awaitable[Sequence[Answer | BaseException]]]


@dataclass
class _Pending(Generic[Item, Answer]):
    item: Item
    done: asyncio.Future[Answer] = field(repr=False)


class WriterStopped(RuntimeError):
    """The writer stopped (cancelled at shutdown, or broken) before this item's batch was
    answered: whether the item was written is unknown."""


class GroupCommit(Generic[Item, Answer]):
    """One writer at a time; whatever arrives while a batch is being written goes in the
    next. With `each_alone`, a batch of several that fails as a whole is written again item
    by item, so one bad item fails by itself and the others still go through."""

    def __init__(
        self,
        write: WriteFn[Item, Answer],
        *,
        name: str,
        max_batch: int = MAX_BATCH,
        each_alone: bool = False,
    ) -> None:
        """`name`: what the items are, for the log ("outcomes")."""
        self._write = write
        self._name = name
        self._max = max_batch
        self._each_alone = each_alone
        self._queue: list[_Pending[Item, Answer]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Answer:
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(item, done))
        if self._task is None or self._task.done():
            # A context of its own: it writes for every caller, not as the one that started it
            # (whose log ids and lease guard a task would otherwise inherit).
            self._task = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await done

    async def _drain(self) -> None:
        """Write until the queue is empty, then end (no await between the last look at the
        queue and the end, so a submit never finds a writer that will not see its item)."""
        batch: list[_Pending[Item, Answer]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                await self._answer(batch)
                batch = []
        except BaseException as exc:
            # Nobody is left to answer them: each caller hears it instead of awaiting forever.
            left, self._queue = [*batch, *self._queue], []
            for p in left:
                if not p.done.done():
                    p.done.set_exception(WriterStopped(f"group commit writer stopped: {exc!r}"))
            raise

    async def _answer(self, batch: list[_Pending[Item, Answer]]) -> None:
        try:
            answers: Sequence[Answer | BaseException] = await self._write([p.item for p in batch])
        except Exception as exc:
            if not self._each_alone or len(batch) == 1:  # each caller hears why
                answers = [exc] * len(batch)
            else:
                # Its kind only: a message (a driver's failing row) can quote people's words.
                logger.warning(
                    "a batch of %s failed (%s); writing each alone", self._name, describe(exc)
                )
                answers = [await self._alone(p.item) for p in batch]
        for p, answer in zip(batch, answers, strict=True):
            if p.done.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(answer, BaseException):
                p.done.set_exception(answer)
            else:
                p.done.set_result(answer)

    async def _alone(self, item: Item) -> Answer | BaseException:
        try:
            (answer,) = await self._write([item])
        except Exception as exc:
            return exc
        return answer

    async def close(self) -> None:
        """Stop the writer; callers still waiting hear WriterStopped."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
