"""Two deliveries for one person that both republish their Home: the one built from older
state never replaces the newer one (views.publish's `hash`, which Slack checks against the
Home last published)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.db import Database
from tests import payloads
from tests.conftest import Team
from tests.helpers import SIGNING_SECRET, running_bot
from tests.signing import signed_post
from tests.slack_double import Call, SlackDouble
from tests.test_home_e2e import pause_pressed, view_of


async def test_a_home_built_before_another_was_published_is_built_again(
    fresh_db: tuple[str, Database], slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = fresh_db
    team = Team(slack=slack)
    ann = team.user("ann")
    held, release = asyncio.Event(), asyncio.Event()
    publish = AsyncWebClient.views_publish
    holding = [False]

    async def late(self: AsyncWebClient, **kwargs: Any) -> Any:
        if holding[0]:  # the first Home built once armed waits, built, before it is sent
            holding[0] = False
            held.set()
            await release.wait()
        return await publish(self, **kwargs)

    monkeypatch.setattr(AsyncWebClient, "views_publish", late)

    def published() -> list[Call]:
        return [c for c in slack.calls_to("views.publish", user_id=ann) if c.ok]

    async with running_bot(url, slack) as bot, TestServer(bot.web) as web:
        events = str(web.make_url("/slack/events"))
        async with aiohttp.ClientSession() as http:

            async def post(body: str) -> None:
                assert (await signed_post(http, events, body, SIGNING_SECRET))[0] == 200

            opened = payloads.app_home_opened_event(user=ann, team_id=team.team_id)
            await post(payloads.event_callback(opened, team_id=team.team_id))
            await slack.wait_for("views.publish", user_id=ann)
            await bot.inbox.drain()
            holding[0] = True
            await post(pause_pressed(view_of(published()[-1]), team, ann))
            await asyncio.wait_for(held.wait(), 15)  # paused, its Home built and not yet sent
            body, _ = team.command("/ally", "tips daily", user_id=ann)
            await post(body)
            await slack.wait_for("views.publish", user_id=ann, count=2, where=lambda c: c.ok)
            release.set()
            await bot.inbox.drain()
    last = json.dumps(view_of(published()[-1]))
    assert "paused until" in last and "tips daily" in last, last[:2000]
