"""Logs never carry what people wrote, even when work fails: not in an exception's message,
not in the SQL parameters a database driver attaches, not in a message quoting the error."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.logs import JsonFormatter, TextFormatter, _ContextFilter
from bot.models import Kudos
from bot.outcomes import Outcomes
from bot.services import inbound
from tests.conftest import Server, Team, server_env, start_server, stopped
from tests.slack_double import SlackDouble

WORDS = "zephyr quokka marmalade"


@pytest.fixture
async def json_server(
    db: Database, database_url: str, slack: SlackDouble, tmp_path: Path
) -> AsyncIterator[Server]:
    env = server_env(database_url, slack.url, ALLYBOT_LOG_FORMAT="json")
    process, url = await start_server(env, tmp_path / "allybot.log", "--tick-seconds", "0")
    async with aiohttp.ClientSession() as http:
        yield Server(url=url, process=process, log_path=tmp_path / "allybot.log", http=http)
    await stopped(process)


@pytest.fixture(params=["json", "text"])
def captured(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The root logger writing through allybot's formatter into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(
        JsonFormatter() if request.param == "json" else TextFormatter("%(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


async def test_a_failed_delivery_logs_its_traceback_without_the_words(
    json_server: Server, team: Team, slack: SlackDouble
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    slack.fail("chat.postMessage", status=200, error="invalid_blocks", times=1)
    body, _ = team.command("/kudos", f"<@{ann}> {WORDS} for the demo", user_id=giver)
    assert (await json_server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=team.channel_id)
    assert await stopped(json_server.process) == 0
    log = json_server.log()
    failed = [json.loads(x) for x in log.splitlines() if '"delivery failed"' in x]
    assert failed and "invalid_blocks" in failed[0]["exception"]
    for word in WORDS.split():
        assert word not in log


async def test_database_errors_and_exception_messages_never_reach_the_log(
    db: Database, captured: io.StringIO
) -> None:
    logger = logging.getLogger("allybot.test")
    with pytest.raises(IntegrityError) as caught:
        async with db.session() as session:
            session.add(
                Kudos(
                    team_id=None,  # NOT NULL: the driver refuses, with the row's values attached
                    giver_id="U1",
                    receiver_id="U2",
                    text=WORDS,
                    tags=[],
                    source="test",
                    source_key="k",
                    created_at=datetime.now(UTC),
                )
            )
            await session.flush()
    logger.exception("delivery failed", exc_info=caught.value)
    try:
        raise ValueError(f"could not parse {WORDS!r}")
    except ValueError as exc:
        logger.exception("delivery failed")
        logger.error("Failed to run listener function (error: %s)", exc, exc_info=exc)
    out = captured.getvalue()
    assert "IntegrityError" in out and "[SQL:" in out and "ValueError" in out
    for word in WORDS.split():
        assert word not in out, out


async def test_a_failed_batch_of_outcomes_is_logged_without_the_words(
    db: Database, captured: io.StringIO
) -> None:
    """A batch that fails is saved item by item, and says so in the log: with the error's
    kind, never its message, which (a driver's failing row, a step's error) can quote people."""
    async with db.session() as session:
        ids = await inbound.record_many(
            session,
            rows=[
                {
                    "team_id": "TLOG",
                    "key": f"{k}-{datetime.now(UTC).timestamp()}",
                    "kind": "t",
                    "payload": {},
                }
                for k in ("a", "b")
            ],
            now=datetime.now(UTC),
            attempts=inbound.CLAIMED_AT_BIRTH,
        )

    async def broken(session: AsyncSession) -> None:
        raise ValueError(f"could not parse {WORDS!r}")

    outcomes = Outcomes(db)
    try:
        first, second = sorted(ids.values())
        results = await asyncio.gather(
            outcomes.done(first, attempt=inbound.CLAIMED_AT_BIRTH, steps=[]),
            outcomes.done(second, attempt=inbound.CLAIMED_AT_BIRTH, steps=[broken]),
            return_exceptions=True,
        )
    finally:
        await outcomes.close()
    assert results[0] is True and isinstance(results[1], ValueError)
    out = captured.getvalue()
    assert "a batch of outcomes failed" in out and "ValueError" in out
    for word in WORDS.split():
        assert word not in out, out
