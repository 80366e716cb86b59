"""`/healthz` is readiness: 200 only while allybot can record a Slack request, and silent in
the log while that holds (probes every few seconds must not flood it)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bot.db import Database
from tests.conftest import Server, server_env, start_server, stopped
from tests.slack_double import SlackDouble

# What a full disk does to a write, without filling a disk: SQLite's and PostgreSQL's own
# "disk full" errors, raised by every insert into the table each request is recorded in.
FULL = {
    "sqlite": [
        "CREATE TRIGGER disk_full BEFORE INSERT ON inbound "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' "
        "USING ERRCODE = 'disk_full'; END $$",
        "CREATE TRIGGER disk_full BEFORE INSERT ON inbound "
        "FOR EACH ROW EXECUTE FUNCTION disk_full()",
    ],
}
FREED = {
    "sqlite": ["DROP TRIGGER disk_full"],
    "postgresql": ["DROP TRIGGER disk_full ON inbound", "DROP FUNCTION disk_full()"],
}


async def run_sql(db: Database, statements: list[str]) -> None:
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_healthz_follows_whether_a_request_can_be_recorded(
    fresh_db: tuple[str, Database], slack: SlackDouble, tmp_path: Path
) -> None:
    url, db = fresh_db
    backend = db.dialect
    log_path = tmp_path / "allybot.log"
    process, base = await start_server(server_env(url, slack.url), log_path, "--tick-seconds", "0")
    try:
        async with aiohttp.ClientSession() as http:
            server = Server(url=base, process=process, log_path=log_path, http=http)
            quiet_from = len(server.log())
            for _ in range(5):
                status, body = await server.get("/healthz")
                assert status == 200, body
            assert json.loads(body)["record"] == "ok"
            assert server.log()[quiet_from:] == "", "a healthy probe logs nothing"

            await run_sql(db, FULL[backend])
            event = '{"type": "event_callback", "team_id": "T0FULL", "event_id": "Ev0FULL",'
            event += ' "event": {"type": "app_mention", "user": "U1", "channel": "C1",'
            event += ' "text": "hi", "ts": "1.000100"}}'
            status, _ = await server.post(event)
            assert status >= 500, "the disk is full: the request could not be recorded"
            for _ in range(3):
                status, body = await server.get("/healthz")
                assert status == 503, body
            health = json.loads(body)
            assert health["status"] == "error" and health["record"] == "failing"
            assert health["database"] == "ok", "reads still work; that is the point"
            assert server.log().count("health check: not ready") == 1, "logged once"

            await run_sql(db, FREED[backend])
            status, body = await server.get("/healthz")
            assert status == 200, body
            assert "can record requests again" in server.log()
            assert "Alembic" not in server.log() and "Context impl" not in server.log()
    finally:
        await stopped(process)
    assert "will be unused" not in log_path.read_text(), "Bolt builds its own client"
