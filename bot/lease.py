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

from sqlalchemy.engine import Connection

from bot.db import Database, unfenced
from bot.services import inbound


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
    # time.monotonic() when the delivery was first found gone from under this lease.
    lost_at: float | None = None

    def fence(self, connection: Connection) -> None:
        """The first statement of a transaction the run begins: raise LeaseLost, before
        anything is written, once the delivery is gone or another run's."""
        if self.lost:
            raise LeaseLost(self.inbound_id)
        inbound.fence(
            connection,
            inbound_id=self.inbound_id,
            attempts=self.version,
            missing=self._gone,
        )

    def _gone(self) -> LeaseLost:
        """The delivery was found gone: this lease is lost for good (no Slack call either)."""
        self.lose(time.monotonic())
        return LeaseLost(self.inbound_id)

    def lose(self, at: float) -> None:
        """The delivery was found gone (or another run's) when time.monotonic() was `at`."""
        if not self.lost:
            self.lost, self.lost_at = True, at

    def erased_while_ours(self) -> bool:
        """Whether the delivery was found gone while no other process could have taken it
        over: the lease, as last granted, had not run out then (with `hold`'s margin, half
        the lease, for the clocks of replicas that differ). Gone then, it was erased."""
        if self.lost_at is None:
            return False
        return self.lost_at - self.granted < inbound.LEASE.total_seconds() / 2

    async def hold(self) -> None:
        """Return if the lease is still this run's; raise LeaseLost if not. Renewals come every
        RENEW_EVERY (under a third of the lease) and mark a lease whose delivery is gone as
        lost, so a run that is not stalled passes on what it remembers; past half the lease
        (the other half left for a call to reach Slack and for clocks to differ between
        replicas), the database is asked."""
        if self.lost:
            raise LeaseLost(self.inbound_id)
        if time.monotonic() - self.granted < inbound.LEASE.total_seconds() / 2:
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
            self.lose(asked)
            raise LeaseLost(self.inbound_id)
        self.granted = max(self.granted, asked)
