"""Someone whose command an erase deleted mid-way hears that it did not go through, in
words naming nobody; a run whose delivery another process took over says nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.db import Database
from bot.inbox import Fresh
from bot.models import Inbound
from bot.services import inbound, privacy
from tests.helpers import new_id, running_bot
from tests.slack_double import SlackDouble
from tests.test_lease_fence import _Erasable, _record, _Stallable, erasing, run_meddled


@pytest.fixture(autouse=True)
def _renewals_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))


async def test_a_command_erased_mid_way_is_answered_and_names_nobody(
    database_url: str, slack: SlackDouble
) -> None:
    ann, bob, team, key = new_id("U"), new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")
    await run_meddled(
        database_url,
        slack,
        _Erasable(bob, team),
        erasing(team, bob),
        text=f"<@{bob}> for the demo",
        user_id=ann,
        response_url=slack.response_url(key),
    )
    (said,) = slack.calls_to("response_url", _key=key)
    assert said.args["response_type"] == "ephemeral"
    assert "couldn't finish that" in said.args["text"] and bob not in str(said.args)
    assert "erase" not in str(said.args).lower()


async def test_a_command_taken_over_by_another_process_is_not_answered_here(
    database_url: str, slack: SlackDouble
) -> None:
    bob, team, key = new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")

    async def claimed_elsewhere(db: Database, fresh: Fresh) -> None:
        async with db.session() as session:
            await session.execute(
                update(Inbound).where(Inbound.id == fresh.id).values(attempts=Inbound.attempts + 1)
            )

    await run_meddled(
        database_url,
        slack,
        _Erasable(bob, team),
        claimed_elsewhere,
        text="for the demo",
        user_id=new_id("U"),
        response_url=slack.response_url(key),
    )
    assert slack.calls_to("response_url", _key=key) == []


async def test_a_run_taken_over_before_the_erase_leaves_the_answer_to_its_new_owner(
    fresh_db: tuple[str, Database], slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalls past its lease and B takes the command over; then bob, whom it names, erases
    his data, deleting the delivery under B's run (which answers the sender). A wakes up to
    find the delivery gone: it was not A's any more, so A says nothing (the sender would
    hear the same words twice)."""
    url, _ = fresh_db
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))  # 10 s in production
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=60))  # stalled: none
    ann, bob, team, key = new_id("U"), new_id("U"), new_id("T"), new_id("R")
    slack.add_user(ann, team_id="T1")
    handler = _Stallable(ann)
    handler.stall_version = inbound.CLAIMED_AT_BIRTH
    async with running_bot(url, slack) as a:
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
        await asyncio.wait_for(handler.stalled.wait(), 10)
        await asyncio.sleep(inbound.LEASE.total_seconds() + 0.2)  # A's lease runs out
        async with a.db.session() as session:  # B's claim, its run under way
            await session.execute(
                update(Inbound).where(Inbound.id == fresh.id).values(attempts=Inbound.attempts + 1)
            )
        async with a.db.session() as session:
            await privacy.erase(session, team_id=team, user_id=bob)
        handler.go_on.set()  # A wakes up
        await a.inbox.drain()
    assert slack.calls_to("response_url", _key=key) == []


async def test_a_run_erased_while_its_lease_held_is_answered_however_long_it_then_takes(
    database_url: str, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erase is found (a renewal) while the lease is fresh; the run itself stops only
    later, after a long wait of its own (a slow Slack call): it was erased, not taken over,
    and its sender is answered."""
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=3))  # renewals every 0.2 s
    ann, bob, team, key = new_id("U"), new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")

    async def erase_then_wait(db: Database, fresh: Fresh) -> None:
        await erasing(team, bob)(db, fresh)
        await asyncio.sleep(inbound.LEASE.total_seconds() / 2 + 0.5)  # the run's own wait

    await run_meddled(
        database_url,
        slack,
        _Erasable(bob, team),
        erase_then_wait,
        text=f"<@{bob}> for the demo",
        user_id=ann,
        response_url=slack.response_url(key),
    )
    (said,) = slack.calls_to("response_url", _key=key)
    assert "couldn't finish that" in said.args["text"]


async def test_a_channel_kudos_erased_mid_way_is_answered_in_its_channel(
    database_url: str, slack: SlackDouble
) -> None:
    """A kudos written in a channel ("kudos @bob for the demo") has no response_url: when
    bob erases his data while it is worked on, its giver still hears it did not go through,
    privately, in the channel where they wrote it, in words naming nobody."""
    ann, bob, team, channel = new_id("U"), new_id("U"), new_id("T"), new_id("C")
    slack.add_user(bob, team_id="T1")
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": ann,
        "text": f"kudos <@{bob}> for the demo",
        "ts": "1700000000.000100",
    }
    meddled: dict[str, Any] = {"event": event}
    await run_meddled(database_url, slack, _Erasable(bob, team), erasing(team, bob), **meddled)
    (said,) = slack.calls_to("chat.postEphemeral", channel=channel)
    assert said.args["user"] == ann
    assert "couldn't finish that" in said.args["text"] and bob not in str(said.args)


async def test_a_modal_kudos_erased_mid_way_is_answered_in_the_channel_it_was_opened_on(
    database_url: str, slack: SlackDouble
) -> None:
    """The "Give kudos for this" shortcut submits a modal, which has no response_url: its
    giver hears, privately in the message's channel, that it did not go through."""
    ann, bob, team, channel = new_id("U"), new_id("U"), new_id("T"), new_id("C")
    slack.add_user(bob, team_id="T1")
    meddled: dict[str, Any] = {
        "type": "view_submission",
        "user": {"id": ann},
        "view": {
            "callback_id": "give_kudos_for_message",
            "private_metadata": json.dumps({"channel": channel, "ts": "1.2", "permalink": None}),
            "state": {"values": {"receiver": {"receiver": {"selected_user": bob}}}},
        },
    }
    await run_meddled(database_url, slack, _Erasable(bob, team), erasing(team, bob), **meddled)
    (said,) = slack.calls_to("chat.postEphemeral", channel=channel)
    assert said.args["user"] == ann and "couldn't finish that" in said.args["text"]
