"""Someone whose command an erase deleted mid-way hears that it did not go through, in
words naming nobody; a run whose delivery another process took over says nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.db import Database
from bot.models import Inbound
from bot.services import inbound, privacy
from tests.helpers import new_id, running_bot
from tests.slack_double import SlackDouble
from tests.test_lease_fence import _Erasable, _record


async def test_a_command_erased_mid_way_is_answered_and_names_nobody(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))
    ann, bob, team = new_id("U"), new_id("U"), new_id("T")
    slack.add_user(bob, team_id="T1")
    key = new_id("R")
    handler = _Erasable(bob, team)
    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = handler
        fresh = await _record(
            a.db,
            team,
            1,
            text=f"<@{bob}> for the demo",
            user_id=ann,
            response_url=slack.response_url(key),
        )
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.paused.wait(), 10)
        async with a.db.session() as session:
            await privacy.erase(session, team_id=team, user_id=bob)
        await asyncio.sleep(3 * inbound.RENEW_EVERY.total_seconds())
        handler.go_on.set()
        await a.inbox.drain()
    (said,) = slack.calls_to("response_url", _key=key)
    assert said.args["response_type"] == "ephemeral"
    assert "couldn't finish that" in said.args["text"] and bob not in str(said.args)
    assert "erase" not in str(said.args).lower()


async def test_a_command_taken_over_by_another_process_is_not_answered_here(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))
    bob, team, key = new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")
    handler = _Erasable(bob, team)
    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = handler
        fresh = await _record(
            a.db,
            team,
            1,
            text="for the demo",
            user_id=new_id("U"),
            response_url=slack.response_url(key),
        )
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.paused.wait(), 10)
        async with a.db.session() as session:  # another process's claim
            await session.execute(
                update(Inbound).where(Inbound.id == fresh.id).values(attempts=Inbound.attempts + 1)
            )
        await asyncio.sleep(3 * inbound.RENEW_EVERY.total_seconds())
        handler.go_on.set()
        await a.inbox.drain()
    assert slack.calls_to("response_url", _key=key) == []
