"""Requests that are not Slack's: refused with 401 (or 400 when signed but unreadable),
never a traceback, and nothing the unverified body claims in the log."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.db import Database
from tests.conftest import SIGNING_SECRET, Server, server_env, start_server, stopped
from tests.signing import FORM, JSON, signed_headers
from tests.slack_double import SlackDouble

CLAIMED_TEAM = "TCLAIMED42"
CLAIMED_USER = "UCLAIMED42"


@pytest.fixture
async def json_server(
    db: Database, database_url: str, slack: SlackDouble, tmp_path: Path
) -> AsyncIterator[Server]:
    env = server_env(database_url, slack.url, ALLYBOT_LOG_FORMAT="json")
    process, url = await start_server(env, tmp_path / "allybot.log", "--tick-seconds", "0")
    async with aiohttp.ClientSession() as http:
        yield Server(url=url, process=process, log_path=tmp_path / "allybot.log", http=http)
    await stopped(process)


def _event(**extra: object) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": CLAIMED_TEAM,
            "event_id": "EvCLAIMED42",
            "event": {"type": "message", "user": CLAIMED_USER, "text": "kudos", "ts": "1.2"},
            **extra,
        }
    )


def _junk() -> list[tuple[str, bytes, dict[str, str], int]]:
    """(what, body, headers, expected status)."""
    now = str(int(time.time()))
    event = _event()
    command = f"command=%2Fkudos&team_id={CLAIMED_TEAM}&user_id={CLAIMED_USER}&text=hi"
    broken_json = '{"type": "event_callback", "team_id": "' + CLAIMED_TEAM + '", '
    broken_payload = "payload=%7B%22team%22%3A%7B%22id%22%3A%22" + CLAIMED_TEAM + "%22"
    return [
        (
            "non-numeric timestamp",
            event.encode(),
            {
                "X-Slack-Request-Timestamp": "soon",
                "X-Slack-Signature": "v0=abc",
                "Content-Type": JSON,
            },
            401,
        ),
        (
            "huge timestamp",
            event.encode(),
            {
                "X-Slack-Request-Timestamp": "9" * 400,
                "X-Slack-Signature": "v0=abc",
                "Content-Type": JSON,
            },
            401,
        ),
        ("no headers, broken JSON", broken_json.encode(), {"Content-Type": JSON}, 401),
        ("no headers, broken form", broken_payload.encode(), {"Content-Type": FORM}, 401),
        (
            "unsigned command",
            command.encode(),
            {
                "X-Slack-Request-Timestamp": now,
                "X-Slack-Signature": "v0=" + "0" * 64,
                "Content-Type": FORM,
            },
            401,
        ),
        ("not UTF-8", b"\xff\xfe" + event.encode(), {"Content-Type": JSON}, 401),
        (
            "signed more than five minutes ago",
            command.encode(),
            signed_headers(command, SIGNING_SECRET, timestamp=int(now) - 301, content_type=FORM),
            401,
        ),
        (
            "signed for another body",
            command.encode(),
            signed_headers(command + "&x=1", SIGNING_SECRET, content_type=FORM),
            401,
        ),
        (
            "no signature",
            command.encode(),
            {"X-Slack-Request-Timestamp": now, "Content-Type": FORM},
            401,
        ),
        (
            "signed, broken JSON",
            broken_json.encode(),
            signed_headers(broken_json, SIGNING_SECRET, content_type=JSON),
            400,
        ),
        (
            "signed, broken payload",
            broken_payload.encode(),
            signed_headers(broken_payload, SIGNING_SECRET, content_type=FORM),
            400,
        ),
    ]


async def test_junk_is_refused_without_a_traceback_or_the_ids_it_claims(
    json_server: Server, slack: SlackDouble
) -> None:
    for what, body, headers, expected in _junk():
        async with json_server.http.post(
            f"{json_server.url}/slack/events", data=body, headers=headers
        ) as resp:
            assert resp.status == expected, what
    # the server still answers Slack afterwards
    status, _ = await json_server.get("/healthz")
    assert status == 200
    assert await stopped(json_server.process) == 0
    log = json_server.log()
    assert "Traceback" not in log and '"ERROR"' not in log
    assert CLAIMED_TEAM not in log and CLAIMED_USER not in log and "EvCLAIMED42" not in log
    refused = [json.loads(line) for line in log.splitlines() if "slack request" in line]
    outcomes = [e["outcome"] for e in refused]
    assert outcomes.count("unauthorized") == 9 and outcomes.count("unreadable") == 2
    assert slack.calls_to("users.info", user=CLAIMED_USER) == []
