"""JSON logs: one object per line, with the workspace, Slack's id and the outcome of each
request and delivery, and never a message's text or a token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest

from bot.db import Database
from tests.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Server,
    Team,
    server_env,
    start_server,
    stopped,
)
from tests.slack_double import SlackDouble
from tests.test_channel_kudos_e2e import message


@pytest.fixture
async def json_server(
    db: Database, database_url: str, slack: SlackDouble, tmp_path: Path
) -> AsyncIterator[Server]:
    env = server_env(database_url, slack.url, ALLYBOT_LOG_FORMAT="json")
    process, url = await start_server(env, tmp_path / "allybot.log", "--tick-seconds", "0")
    async with aiohttp.ClientSession() as http:
        yield Server(url=url, process=process, log_path=tmp_path / "allybot.log", http=http)
    await stopped(process)


def entries(server: Server) -> list[dict[str, Any]]:
    lines = [line for line in server.log().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


async def test_json_logs_carry_ids_and_outcomes_and_never_text_or_tokens(
    json_server: Server, team: Team, slack: SlackDouble
) -> None:
    giver, ann, bob = team.user("giver"), team.user("ann"), team.user("bob")
    secret_words = "zebra quartz moonbeam"
    body, _ = team.command("/kudos", f"<@{ann}> {secret_words} for the demo", user_id=giver)
    trigger = parse_qs(body)["trigger_id"][0]
    assert (await json_server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=ann)

    kudos_event, _, event_id = message(team, giver, f"kudos <@{bob}> lantern walrus tangerine")
    for retry in (None, 1):
        assert (await json_server.post(kudos_event, retry_num=retry))[0] == 200
    await slack.wait_for(
        "chat.postMessage", channel=bob, where=lambda c: "lantern" in str(c.args.get("text"))
    )
    chatter, _, chatter_id = message(team, ann, "velvet harbour pistachio, nothing for allybot")
    assert (await json_server.post(chatter))[0] == 200
    forged, _, _ = message(team, ann, "kudos nobody")
    assert (await json_server.post(forged, secret="wrong-secret"))[0] == 401
    assert await stopped(json_server.process) == 0  # flushes everything it had to say

    logged = entries(json_server)
    text = json_server.log()
    for never in ("zebra", "quartz", "lantern", "walrus", "velvet", "pistachio"):
        assert never not in text, never
    assert BOT_TOKEN not in text and SIGNING_SECRET not in text

    requests = [e for e in logged if e["message"] == "slack request"]
    by_request = {(e.get("request"), e.get("retry")): e for e in requests}
    command = by_request[(trigger, None)]
    assert (command["team"], command["kind"], command["outcome"]) == (team.team_id, "command", "ok")
    assert by_request[(event_id, None)]["outcome"] == "ok"
    assert by_request[(event_id, "1")]["team"] == team.team_id
    assert by_request[(chatter_id, None)]["outcome"] == "ok"
    assert any(e["outcome"] == "unauthorized" for e in requests)

    done = [e for e in logged if e["message"] == "delivery done"]
    assert {(e["team"], e["request"], e["outcome"]) for e in done} >= {
        (team.team_id, trigger, "done"),
        (team.team_id, event_id, "done"),
    }
    assert all(isinstance(e["delivery"], int) for e in done)
    (duplicate,) = [e for e in logged if e.get("outcome") == "duplicate"]
    assert (duplicate["team"], duplicate["request"], duplicate["retry"]) == (
        team.team_id,
        event_id,
        "1",
    )
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in logged)
