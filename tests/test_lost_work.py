"""Someone whose command an erase deleted mid-way hears that it did not go through, in
words naming nobody; a run whose delivery another process took over says nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.db import Database
from bot.inbox import Fresh
from bot.models import Inbound
from bot.services import inbound
from tests.helpers import new_id
from tests.slack_double import SlackDouble
from tests.test_lease_fence import _Erasable, erasing, run_meddled


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
