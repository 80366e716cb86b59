"""The Slack double in a child process of its own: on a 2-core machine it then has a core
to itself instead of taking turns with the load client or the sender on one event loop.

What the double should know (users, limits) and what a benchmark reads back from it are
module-level functions, so the spawned child can import them.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from tests.slack_double import SlackDouble

START_TIMEOUT_S = 60.0
STATS_TIMEOUT_S = 60.0

Setup = Callable[[SlackDouble], None]
Stats = Callable[[SlackDouble], Any]


def _main(conn: Connection, setup: Setup, stats: Stats, options: dict[str, Any]) -> None:
    """Child entry point: serve until the parent says stop or goes away."""
    asyncio.run(_serve(conn, setup, stats, options))


async def _serve(conn: Connection, setup: Setup, stats: Stats, options: dict[str, Any]) -> None:
    async with SlackDouble(**options) as double:
        setup(double)
        conn.send(double.url)
        while True:
            try:
                request = await asyncio.to_thread(conn.recv)
            except EOFError:
                return
            if request != "stats":
                return
            conn.send(stats(double))


class DoubleProcess:
    """Start it, ask what it recorded (`stats`), stop it."""

    def __init__(self, setup: Setup, stats: Stats, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=_main, args=(child, setup, stats, options), daemon=True
        )

    async def start(self) -> str:
        """Start it and return its Web API base URL."""
        self.process.start()
        if not await asyncio.to_thread(self._conn.poll, START_TIMEOUT_S):
            raise RuntimeError("the Slack double did not start")
        return str(self._conn.recv())

    async def stats(self) -> Any:
        self._conn.send("stats")
        if not await asyncio.to_thread(self._conn.poll, STATS_TIMEOUT_S):
            raise RuntimeError("the Slack double did not answer")
        return self._conn.recv()

    def stop(self) -> None:
        """Ask it to stop; terminate it if it does not within seconds."""
        if self.process.pid is None:
            return
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)

    async def close(self) -> None:
        await asyncio.to_thread(self.stop)
