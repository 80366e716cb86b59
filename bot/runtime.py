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

    async def start(self) -> None:
        await self.clients.start()

    async def close(self, *, timeout: float = 10.0) -> None:
        await self.inbox.drain(timeout=timeout)
        await self.clients.close()
        await self.db.dispose()
