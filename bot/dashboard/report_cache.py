"""Built reports kept per workspace and range, so a dashboard page never waits seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

from bot.services import report

logger = logging.getLogger(__name__)

REPORT_TTL = 300.0  # seconds a built report is reused for the same workspace and range
REPORT_CACHE_SIZE = 32

ReportKey = tuple[str, date, date]


@dataclass
class ReportCache:
    """Built reports per workspace and range: the report's queries take seconds on a large
    workspace, a page must not. A report holds figures, and its words are read in each
    reader's language, so admins in every language share it. A report older than `ttl` is
    still shown while a fresh one is built in the background; an admin's sign-in starts
    building the default range."""

    ttl: float = REPORT_TTL
    entries: dict[ReportKey, tuple[float, report.Report]] = field(default_factory=dict)
    building: dict[ReportKey, asyncio.Task[report.Report]] = field(default_factory=dict)

    def get(
        self, key: ReportKey, build: Callable[[], Awaitable[report.Report]]
    ) -> asyncio.Future[report.Report]:
        """The kept report at once (a stale one is rebuilt behind it), or the build."""
        found = self.entries.get(key)
        if found is not None:
            if time.monotonic() - found[0] > self.ttl:
                self.warm(key, build)
            done: asyncio.Future[report.Report] = asyncio.get_running_loop().create_future()
            done.set_result(found[1])
            return done
        return self.warm(key, build)

    def warm(
        self, key: ReportKey, build: Callable[[], Awaitable[report.Report]]
    ) -> asyncio.Task[report.Report]:
        """The build for this key, started once however many ask."""
        task = self.building.get(key)
        if task is None:
            task = asyncio.create_task(self._build(key, build))
            task.add_done_callback(_log_failure)
            self.building[key] = task
        return task

    async def _build(
        self, key: ReportKey, build: Callable[[], Awaitable[report.Report]]
    ) -> report.Report:
        try:
            built = await build()
        finally:
            self.building.pop(key, None)
        if len(self.entries) >= REPORT_CACHE_SIZE and key not in self.entries:
            self.entries.pop(min(self.entries, key=lambda k: self.entries[k][0]))
        self.entries[key] = (time.monotonic(), built)
        return built


def _log_failure(task: asyncio.Task[report.Report]) -> None:
    """A report built in the background that failed is logged with its traceback."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("dashboard report failed", exc_info=exc)
