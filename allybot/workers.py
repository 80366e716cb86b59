"""Work after the ack in processes of their own (`allybot serve --workers N`).

On a busy replica the work after each ack (profiles, a dozen transactions, Slack posts) and
the scheduler's passes cost ten times the ack itself; on one event loop, acks queue behind
them. With workers, the serving process only verifies, records and answers; each worker
(at a lower CPU priority, so acks win the cores) claims deliveries nobody started, works on
them, and runs the scheduler's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from bot.arrivals import wait_any
from bot.sqlite_driver import on_the_loop

if TYPE_CHECKING:
    from bot.runtime import AllyBot

logger = logging.getLogger(__name__)

WORKER_NICENESS = 5  # below the serving process, which answers Slack within 3 s
# A worker with nothing to do sleeps until the serving process signals a new delivery
# (WAKE_SIGNAL) or, on PostgreSQL, until any process records one (bot.arrivals); it looks
# on its own only now and then (`Arrivals.poll_seconds`). A signal whose default action is
# to be ignored: one that comes before the worker listens for it changes nothing (its first
# look comes after it listens), where SIGUSR1 would end it, and no signal mask has to be
# passed down to it (uvloop's children start with none blocked).
WAKE_SIGNAL = signal.SIGURG
RESTART_SECONDS = 1.0


def ignored_signals() -> list[int]:
    """The signals this process ignores (`nohup` ignores SIGHUP; a shell's background job,
    SIGINT and SIGQUIT), for its workers to ignore too. A child started by fork and exec
    keeps them ignored; uvloop's children start with every signal back at its default, so a
    hang-up that `serve` was started to survive would end all its workers at once."""
    return sorted(
        int(sig)
        for sig in signal.valid_signals()
        if sig not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(sig) is signal.SIG_IGN
    )


async def work_until(bot: AllyBot, stop: asyncio.Event) -> None:
    """Claim and work on new deliveries until `stop`; what is started is finished."""
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(WAKE_SIGNAL, wake.set)
    try:
        async with bot.inbox.arrivals.subscribed() as arrived:
            while not stop.is_set():
                wake.clear()  # before looking, so a wake-up during the look is not lost
                arrived.clear()
                try:
                    with on_the_loop():  # a claim and its work: short statements
                        if await bot.inbox.work_new():
                            continue
                except Exception:
                    logger.exception("worker step failed")
                await wait_any(stop, wake, arrived, timeout=bot.inbox.arrivals.poll_seconds)
    finally:
        loop.remove_signal_handler(WAKE_SIGNAL)


def lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


class WorkerPool:
    """`allybot worker` child processes, restarted if one dies, stopped with SIGTERM."""

    def __init__(self, count: int, *, tick_seconds: float) -> None:
        self.count = count
        self.tick_seconds = tick_seconds
        self._procs: list[asyncio.subprocess.Process] = []
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        for n in range(self.count):
            # One clock is enough: passes are safe on many processes, but need not compete.
            tick = self.tick_seconds if n == 0 else 0.0
            self._supervisors.append(asyncio.create_task(self._supervise(tick)))

    async def _spawn(self, tick: float) -> asyncio.subprocess.Process:
        argv = [sys.executable, "-m", "allybot.cli", "worker", "--tick-seconds", f"{tick:g}"]
        ignored = ignored_signals()
        if ignored:
            argv += ["--ignoring", ",".join(map(str, ignored))]
        proc = await asyncio.create_subprocess_exec(*argv)
        self._procs.append(proc)
        return proc

    async def _supervise(self, tick: float) -> None:
        while not self._stopping:
            proc = await self._spawn(tick)
            code = await proc.wait()
            self._procs.remove(proc)
            if not self._stopping:
                logger.warning("worker exited with %s; starting another", code)
                await asyncio.sleep(RESTART_SECONDS)

    def wake(self) -> None:
        """Tell the workers a delivery is waiting (WAKE_SIGNAL), so idle ones need not poll."""
        for proc in self._procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(WAKE_SIGNAL)

    async def stop(self, *, timeout: float) -> None:
        """SIGTERM each worker: it takes nothing new and finishes what it started."""
        self._stopping = True
        for proc in list(self._procs):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in list(self._procs):
            try:
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                logger.warning("worker %d did not stop in time; killed", proc.pid)
                proc.kill()
                await proc.wait()
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)
