"""The fence around the work on one delivery: a run that outlived its lease stops.

A process renews the leases of what it works on every RENEW_EVERY (bot/inbox.py); one that
stalls past a lease (a long GC pause, a starved CPU, a hung call) may find, when it runs
again, that another process took the delivery over. `Lease.hold`, awaited before each Slack
call of the run (bot.slack.BEFORE_CALL), stops it then; the outcome's UPDATE checks the
claim's version too (bot.services.inbound.finish_many and fail).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.db import Database
from bot.services import inbound


class LeaseLost(Exception):
    """Another process took the delivery over: this run stalled past its lease (a long GC
    pause, a starved CPU, a hung call) and must not reach Slack or record its outcome."""


@dataclass
class Lease:
    """A delivery this process works on, at its claim version, and when the database last
    granted it a full LEASE (time.monotonic(), read before the claim or renewal)."""

    inbound_id: int
    version: int
    granted: float
    db: Database = field(repr=False)
    lost: bool = False  # once lost, never asked again

    async def hold(self) -> None:
        """Return if the lease is still this run's; raise LeaseLost if not. Renewals come every
        RENEW_EVERY (under a third of the lease), so a run that is not stalled passes on
        what it remembers; past half the lease (the other half left for a call to reach
        Slack and for clocks to differ between replicas), the database is asked."""
        if self.lost:
            raise LeaseLost(self.inbound_id)
        if time.monotonic() - self.granted < inbound.LEASE.total_seconds() / 2:
            return
        asked = time.monotonic()
        async with self.db.session() as session:
            mine = await inbound.confirm(
                session, inbound_id=self.inbound_id, attempts=self.version, now=datetime.now(UTC)
            )
        if not mine:
            self.lost = True
            raise LeaseLost(self.inbound_id)
        self.granted = max(self.granted, asked)
