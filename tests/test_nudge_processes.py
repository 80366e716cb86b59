"""Whole `allybot tick` processes: two at once, and one killed mid-send."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import Counter

from bot.db import Database
from tests.conftest import ROOT, server_env
from tests.helpers import at, new_id, seed_people
from tests.slack_double import SlackDouble

TZ = "Europe/London"
NOW = at("2026-11-26 09:00", TZ)


async def tick(database_url: str, slack: SlackDouble, now: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allybot.cli",
        "tick",
        "--now",
        now,
        cwd=ROOT,
        env=server_env(database_url, slack.url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


def delivered(slack: SlackDouble, people: list[str]) -> Counter[str]:
    wanted = set(people)
    return Counter(
        c.args["channel"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") in wanted
    )


async def test_two_ticks_at_the_same_instant_send_each_nudge_once(
    fresh_db: tuple[str, Database], slack: SlackDouble
) -> None:
    url, db = fresh_db
    team = new_id("T")
    people = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}] * 60
    )
    first, second = await tick(url, slack, NOW.isoformat()), await tick(url, slack, NOW.isoformat())
    outputs = await asyncio.gather(first.communicate(), second.communicate())
    assert (first.returncode, second.returncode) == (0, 0), outputs
    counts = delivered(slack, people)
    assert set(counts) == set(people)
    assert set(counts.values()) == {1}


async def test_a_sender_killed_mid_batch_loses_nothing(
    fresh_db: tuple[str, Database], slack: SlackDouble
) -> None:
    url, db = fresh_db
    team = new_id("T")
    people = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}] * 100
    )
    slack.delay("chat.postMessage", 0.3)
    try:
        victim = await tick(url, slack, NOW.isoformat())
        await slack.wait_for(
            "chat.postMessage",
            count=30,
            timeout=30,
            where=lambda c: c.args.get("channel") in people,
        )
        os.kill(victim.pid, signal.SIGKILL)
        await victim.wait()
    finally:
        slack.delay("chat.postMessage", 0)
    seen_before_restart = sum(delivered(slack, people).values())
    assert 0 < seen_before_restart < len(people), "the kill landed mid-batch"
    # After the two-minute lease, the next pass takes over what the dead process had claimed.
    later = (NOW.replace(minute=5)).isoformat()
    survivor = await tick(url, slack, later)
    out, _ = await survivor.communicate()
    assert survivor.returncode == 0, out.decode()
    counts = delivered(slack, people)
    assert set(counts) == set(people), "every nudge was delivered"
    duplicates = sum(counts.values()) - len(people)
    assert duplicates <= 20, "bounded by the posts in flight (the sender's concurrency)"
    found = re.search(r"(\d+) re-sent after a crash", out.decode())
    assert found is not None, out.decode()
    reported = int(found.group(1))
    assert reported >= duplicates, "every duplicate was counted"
