"""A workspace that removes allybot gets nothing more; another workspace is untouched."""

from __future__ import annotations

import asyncio

import pytest

from bot.db import Database
from bot.models import Workspace
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server
from tests.helpers import at, new_id, running_bot, seed_people
from tests.slack_double import SlackDouble

TZ = "Europe/London"


@pytest.mark.parametrize("event", ["app_uninstalled", "tokens_revoked"])
async def test_no_nudge_after_uninstall(
    server: Server, slack: SlackDouble, db: Database, database_url: str, event: str
) -> None:
    gone, kept = new_id("T"), new_id("T")
    (leaver,) = await seed_people(
        db, slack, team_id=gone, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    (stayer,) = await seed_people(
        db, slack, team_id=kept, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    inner = (
        payloads.app_uninstalled_event()
        if event == "app_uninstalled"
        else payloads.tokens_revoked_event(["UALLYBOT"])
    )
    assert (await server.post(payloads.event_callback(inner, team_id=gone)))[0] == 200
    for _ in range(100):
        async with db.session() as session:
            workspace = await session.get(Workspace, gone)
            if workspace is not None and workspace.uninstalled_at is not None:
                break
        await asyncio.sleep(0.05)
    async with db.session() as session:
        assert (await session.get(Workspace, gone)).uninstalled_at is not None  # type: ignore[union-attr]
        assert (await session.get(Workspace, kept)).uninstalled_at is None  # type: ignore[union-attr]
    async with running_bot(database_url, slack) as bot:
        for team in (gone, kept):
            await run_pass(bot, now=at("2026-11-26 09:00", TZ), team_id=team)
    assert [c for c in slack.calls_to("chat.postMessage", channel=leaver) if c.ok] == []
    assert len([c for c in slack.calls_to("chat.postMessage", channel=stayer) if c.ok]) == 1
