"""The fence around the work on one delivery: a run whose delivery is gone stops.

A delivery goes from under its run two ways: another process took it over (this one stalled
past its lease: a long GC pause, a starved CPU, a hung call), or an erase deleted it with
the person it names (bot.services.privacy.erase deletes those deliveries first). A process
renews the leases of what it works on every RENEW_EVERY (bot/inbox.py) and learns then of
those gone. `Lease.fence` is the first statement of every transaction the run opens
(bot.db.BEFORE_TRANSACTION), so nothing of a run whose delivery is gone is written;
`Lease.hold`, awaited before each Slack call of the run (bot.slack.BEFORE_CALL), stops it
before Slack hears from it; the outcome's UPDATE checks the claim's version too
(bot.services.inbound.finish_many and fail).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, unfenced
from bot.services import inbound

# How long what the database last said of a delivery stands before a Slack call asks again:
# the most a run may go on calling Slack for a delivery erased meanwhile.
ASK_AFTER = 1.0


class LeaseLost(Exception):
    """The delivery is gone from under this run (another process took it over after it
    stalled past its lease, or an erase deleted it): the run must not write, reach Slack or
    record its outcome."""


@dataclass
class Lease:
    """A delivery this process works on, at its claim version, and when the database last
    granted it a full LEASE (time.monotonic(), read before the claim or renewal)."""

    inbound_id: int
    version: int
    granted: float
    db: Database = field(repr=False)
    lost: bool = False  # once lost, never asked again
    # When the database last said the delivery is still this run's (time.monotonic()).
    seen: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.seen = max(self.seen, self.granted)

    def renewed(self, asked: float) -> None:
        """The database renewed the lease (asked at `asked`)."""
        self.granted = max(self.granted, asked)
        self.seen = max(self.seen, asked)

    async def fence(self, session: AsyncSession) -> None:
        """The first statement of a transaction the run opens: raise LeaseLost, before
        anything is written, once the delivery is gone or another run's."""
        if self.lost:
            raise LeaseLost(self.inbound_id)
        asked = time.monotonic()
        mine = await inbound.still_held(session, inbound_id=self.inbound_id, attempts=self.version)
        if not mine:
            self.lost = True
            raise LeaseLost(self.inbound_id)
        self.seen = max(self.seen, asked)

    async def hold(self) -> None:
        """Return if the lease is still this run's; raise LeaseLost if not. What the database
        said within ASK_AFTER stands (a transaction's fence, a renewal), and a lease granted
        within half its length (the other half left for a call to reach Slack and for clocks
        to differ between replicas); past either, the database is asked."""
        if self.lost:
            raise LeaseLost(self.inbound_id)
        now = time.monotonic()
        if now - self.seen < ASK_AFTER and now - self.granted < inbound.LEASE.total_seconds() / 2:
            return
        asked = time.monotonic()
        with unfenced():
            async with self.db.session() as session:
                mine = await inbound.confirm(
                    session,
                    inbound_id=self.inbound_id,
                    attempts=self.version,
                    now=datetime.now(UTC),
                )
        if not mine:
            self.lost = True
            raise LeaseLost(self.inbound_id)
        self.renewed(asked)
