"""Group commit: items handed in together are written as one batch, each caller gets its
own answer, and one item's failure is its own."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from bot.group_commit import GroupCommit


async def test_items_handed_in_together_are_written_in_one_batch_each_with_its_answer() -> None:
    batches: list[list[int]] = []

    async def write(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await asyncio.sleep(0)
        return [i * 10 for i in items]

    commits: GroupCommit[int, int] = GroupCommit(write, name="items")
    try:
        answers = await asyncio.gather(*(commits.submit(i) for i in range(5)))
        assert answers == [0, 10, 20, 30, 40]
        assert batches == [[0, 1, 2, 3, 4]]
        assert await commits.submit(7) == 70  # a later one: a batch of its own
        assert batches[-1] == [7]
    finally:
        await commits.close()


async def test_batches_are_cut_at_the_limit_and_what_arrives_meanwhile_goes_next() -> None:
    batches: list[list[int]] = []

    async def write(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await asyncio.sleep(0.01)
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(write, name="items", max_batch=3)
    try:
        assert await asyncio.gather(*(commits.submit(i) for i in range(7))) == list(range(7))
        assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    finally:
        await commits.close()


async def test_an_item_that_fails_alone_raises_for_its_caller_only() -> None:
    async def write(items: Sequence[int]) -> list[int | BaseException]:
        return [ValueError(f"bad {i}") if i == 2 else i for i in items]

    commits: GroupCommit[int, int] = GroupCommit(write, name="items")
    try:
        results = await asyncio.gather(
            *(commits.submit(i) for i in range(4)), return_exceptions=True
        )
        assert results[:2] == [0, 1] and results[3] == 3
        assert isinstance(results[2], ValueError) and str(results[2]) == "bad 2"
    finally:
        await commits.close()


async def test_a_batch_that_fails_as_a_whole_raises_for_every_caller_and_the_next_works() -> None:
    calls = 0

    async def write(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database gone")
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(write, name="items")
    try:
        results = await asyncio.gather(
            *(commits.submit(i) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, ConnectionError) for r in results)
        assert await commits.submit(9) == 9
    finally:
        await commits.close()


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    release = asyncio.Event()

    async def write(items: Sequence[int]) -> list[int]:
        await release.wait()
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(write, name="items")
    try:
        first = asyncio.create_task(commits.submit(1))
        second = asyncio.create_task(commits.submit(2))
        await asyncio.sleep(0.01)
        first.cancel()
        release.set()
        assert await second == 2
        with pytest.raises(asyncio.CancelledError):
            await first
    finally:
        await commits.close()


async def test_closing_while_a_batch_is_written_answers_its_callers_and_those_queued() -> None:
    """A writer cancelled mid-batch (shutdown) must not leave callers awaiting forever: each
    hears that its item's outcome is unknown, and the one after starts a writer anew."""
    started, release = asyncio.Event(), asyncio.Event()

    async def write(items: Sequence[int]) -> list[int]:
        started.set()
        await release.wait()
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(write, name="items")
    writing = asyncio.create_task(commits.submit(1))
    await started.wait()
    queued = asyncio.create_task(commits.submit(2))
    await asyncio.sleep(0)
    await commits.close()
    done, _ = await asyncio.wait({writing, queued}, timeout=1.0)
    assert done == {writing, queued}
    for task in (writing, queued):
        assert isinstance(task.exception(), RuntimeError)
    release.set()
    try:
        assert await asyncio.wait_for(commits.submit(3), 1.0) == 3
    finally:
        await commits.close()


async def test_the_writer_runs_in_no_callers_context() -> None:
    """The writer outlives the caller that started it and writes for every caller: it must not
    carry that one's context (its log ids, its lease guard before Slack calls)."""
    mine: contextvars.ContextVar[str | None] = contextvars.ContextVar("mine", default=None)
    seen: list[str | None] = []

    async def write(items: Sequence[int]) -> list[int]:
        seen.append(mine.get())
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(write, name="items")

    async def caller(name: str, item: int) -> int:
        mine.set(name)
        return await commits.submit(item)

    try:
        assert await asyncio.create_task(caller("first", 1)) == 1
        assert await asyncio.create_task(caller("second", 2)) == 2
    finally:
        await commits.close()
    assert seen == [None, None]
