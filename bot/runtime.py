"""What one running allybot process holds, as the scheduler and workers see it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.db import Database
from bot.inbox import Inbox
from bot.settings import Settings
from bot.slack import SlackClients


@dataclass
class AllyBot:
    """Everything one allybot process runs: settings, database, Slack clients, Bolt, web.

    Built by `allybot.app.create_app`, the one place that wires handlers in."""

    settings: Settings
    db: Database
    clients: SlackClients
    inbox: Inbox
    bolt: AsyncApp
    web: web.Application
    # Set on SIGTERM: passes claim no more work, so the process can finish what it holds.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _watching: asyncio.Task[None] | None = None

    async def start(self, *, recover: bool = False) -> None:
        """`recover`: keep taking over the deliveries of processes that died (long-running
        processes that work after the ack; `tick` recovers within its pass instead)."""
        await self.clients.start()
        if recover and self._watching is None:
            self._watching = asyncio.create_task(self.inbox.watch(self.stopping))

    async def close(self, *, timeout: float = 10.0) -> None:
        if self._watching is not None:
            self.stopping.set()
            await asyncio.wait({self._watching}, timeout=timeout)
        await self.inbox.drain(timeout=timeout)
        await self.clients.close()
        await self.db.dispose()
