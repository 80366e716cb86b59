"""Readiness: allybot is ready when it can record a Slack request, not merely when its
database answers a SELECT (a full disk answers reads and refuses every write)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, insert

from bot.db import Database, sqlite_path
from bot.models import Inbound

# A SQLite file needs room to grow: below this much free space, a request may not fit.
MIN_FREE_BYTES = 1024 * 1024
PROBE_TEAM = "-"  # no Slack team id looks like this, so nothing else ever reads the row


class NotReady(Exception):
    """allybot cannot record a request; the message says why, in a word or two."""


def free_bytes(path: str) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


async def probe_write(db: Database) -> None:
    """Write what recording a request writes (a row in `inbound`), then take it back, in one
    committed transaction, so the database must really accept a write to pass."""
    path = sqlite_path(db.url)
    if path is not None and free_bytes(str(path.parent)) < MIN_FREE_BYTES:
        raise NotReady("disk full")
    key = f"probe:{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    async with db.session() as session:
        await session.execute(
            insert(Inbound).values(
                team_id=PROBE_TEAM, key=key, kind="probe", payload=None, lease_until=now
            )
        )
        await session.execute(
            delete(Inbound).where(Inbound.team_id == PROBE_TEAM, Inbound.key == key)
        )
