"""How many DMs one person can make allybot send another, and private mutes.

Every DM that one person's action sends to someone else (a promise told to its counterparts,
its change, drop or completion, "that's not what we agreed", a kudos DM, a kudos from a kept
promise) is first admitted here. Each is recorded once under its key, in the recipient's
local day. Up to the workspace's daily budget per (sender, recipient) it is sent; past it, it
is held for the recipient's next daily message (bundled by the scheduler) and the sender is
told. A recipient who muted the sender never gets it, and the sender cannot tell: a muted DM
counts against the budget like a sent one and the sender hears exactly what they would
otherwise hear.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import UTCDateTime, dialect_of, insert_for
from bot.i18n import _, ngettext
from bot.models import Nudge, Person, Workspace
from bot.on_driver import OnDriver, begin_with
from bot.trust_models import Mute, PersonDM

DEFAULT_BUDGET = 5
MAX_BUDGET = 50
HELD_KIND = "held_dm"
HELD_DAYS = 14  # a held DM waits this long for a daily message, then expires
SENT, MUTED, HELD = "sent", "muted", "held"
KEEP_LEDGER = timedelta(days=3)  # a local day has ended everywhere well within this
MAX_MUTES = 100


@dataclass(frozen=True)
class Admission:
    """What to do with one DM: `send` it or not, and whether it counted as over budget."""

    outcome: str
    retry: bool = False  # the same key was admitted before (a retried delivery)

    @property
    def send(self) -> bool:
        return self.outcome == SENT

    @property
    def over_budget(self) -> bool:
        return self.outcome == HELD


def local_day(now: datetime, tz: str | None) -> date:
    try:
        zone = ZoneInfo(tz or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def pair_key(team_id: str, sender_id: str, recipient_id: str) -> str:
    """The lock one pair's admissions take."""
    return f"dm-budget:{team_id}:{sender_id}:{recipient_id}"


async def lock(session: AsyncSession, keys: Sequence[str], shared: Sequence[str] = ()) -> None:
    """Take these transaction locks on PostgreSQL, in order, in one statement: `keys`
    exclusively, then `shared` shared (SQLite runs one writer at a time). As a
    transaction's first statement they ride in the trip of its BEGIN."""
    if dialect_of(session) != "postgresql" or not (keys or shared):
        return
    script = _lock_script(keys, shared)
    if script is not None and await begin_with(session, script):
        return
    await _LOCK.rows(session, {"keys": list(keys), "shared": list(shared)})


# The keys allybot builds (a kind, a team id, user ids): written into a script as they are.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9:_-]+")


def _lock_script(keys: Sequence[str], shared: Sequence[str]) -> str | None:
    """`_LOCK` as statements without parameters (a script takes none); None for a key that
    is not plain (the statement, with parameters, takes it)."""
    if not all(_PLAIN_KEY.fullmatch(k) for k in (*keys, *shared)):
        return None
    return "; ".join(
        [
            *(f"SELECT pg_advisory_xact_lock(hashtext('{k}'))" for k in keys),
            *(f"SELECT pg_advisory_xact_lock_shared(hashtext('{k}'))" for k in shared),
        ]
    )


_LOCK = OnDriver(
    text(
        "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) AS k"
        " UNION ALL SELECT pg_advisory_xact_lock_shared(hashtext(k))"
        " FROM unnest(CAST(:shared AS text[])) AS k"
    )
)


def person_key(team_id: str, user_id: str) -> str:
    """The lock an erase takes on a person, and work about to store something naming them
    takes shared (kudos.give): one waits for the other, whichever came first."""
    return f"person:{team_id}:{user_id}"


async def budget_of(session: AsyncSession, *, team_id: str) -> int:
    found = await session.get(Workspace, team_id)
    return found.daily_dm_budget if found is not None else DEFAULT_BUDGET


async def admit(
    session: AsyncSession,
    *,
    team_id: str,
    sender_id: str,
    recipient_id: str,
    kind: str,
    key: str,
    ref: dict[str, Any],
    now: datetime,
    recipient_tz: str | None = None,
    locked: bool = False,
) -> Admission:
    """Decide and record one DM from `sender_id`'s action to `recipient_id`.

    `ref` says what the DM is about (`{"commitment": 7, "event": "shared"}`,
    `{"kudos": 12}`), so a held one is rendered from current state when it is finally told,
    and nothing a person wrote is copied into the hold. `recipient_tz`, when the caller has
    the recipient's profile at hand, saves reading it.
    """
    if not locked:  # else the caller took it, with others (kudos.give)
        # Two admissions of one pair at once never both take the last place.
        await lock(session, [pair_key(team_id, sender_id, recipient_id)])
    params: dict[str, Any] = {
        "team_id": team_id,
        "sender_id": sender_id,
        "recipient_id": recipient_id,
        "key": key,
    }
    if recipient_tz is None:
        found = (await session.execute(_RECIPIENT_TZ, params)).scalar_one_or_none()
        recipient_tz = found if found is not None else "UTC"
    day = local_day(now, recipient_tz)
    # One statement decides and records it (the pair's count today against the workspace's
    # budget, then the mute), unless this key was decided before: a retry keeps that.
    decided = await _ADMIT.rows(session, {**params, "day": day, "kind": kind, "created_at": now})
    return await settle(
        session,
        decided[0][0] if decided else None,
        team_id=team_id,
        sender_id=sender_id,
        recipient_id=recipient_id,
        key=key,
        ref={"kind": kind, **ref},
        day=day,
        now=now,
    )


async def settle(
    session: AsyncSession,
    outcome: str | None,
    *,
    team_id: str,
    sender_id: str,
    recipient_id: str,
    key: str,
    ref: dict[str, Any],
    day: date,
    now: datetime,
) -> Admission:
    """The admission of a DM whose row `decision` recorded (its outcome), or found recorded
    before (None: a retry keeps what was decided then); one held waits for the recipient's
    next daily message, unless the recipient muted the sender."""
    params = {"team_id": team_id, "sender_id": sender_id, "recipient_id": recipient_id}
    if outcome is None:
        before = (await session.execute(_BEFORE, {**params, "key": key})).scalar_one()
        return Admission(outcome=before, retry=True)
    if outcome == HELD and not await _muted(session, params):
        await _hold(
            session,
            team_id=team_id,
            sender_id=sender_id,
            recipient_id=recipient_id,
            key=key,
            ref=ref,
            day=day,
            now=now,
        )
    return Admission(outcome=outcome)


def decision(
    *,
    team: ColumnElement[str],
    sender: ColumnElement[str],
    recipient: ColumnElement[str],
    kind: ColumnElement[str],
    key: ColumnElement[str],
    day: ColumnElement[date],
    created_at: ColumnElement[datetime],
) -> Select[Any]:
    """The DM's row for `person_dms` (COLUMNS), its outcome decided: held past the pair's
    budget for the day, else muted or sent; no row when its key was decided before. Values
    bound, or the columns of a row being written in the same statement (a kudos')."""
    dms = cast(Table, PersonDM.__table__)
    c = dms.c
    seen = select(c.id).where(c.team_id == team, c.recipient_id == recipient, c.key == key)
    used = (
        select(func.count())
        .select_from(dms)
        .where(
            c.team_id == team,
            c.sender_id == sender,
            c.recipient_id == recipient,
            c.local_day == day,
            # Not IN: a list is spread into the SQL on every call (bot.on_driver).
            or_(c.outcome == SENT, c.outcome == MUTED),
        )
        .scalar_subquery()
    )
    budget = func.coalesce(
        select(Workspace.daily_dm_budget).where(Workspace.team_id == team).scalar_subquery(),
        DEFAULT_BUDGET,
    )
    muted = (
        select(Mute.muted_id)
        .where(Mute.team_id == team, Mute.user_id == recipient, Mute.muted_id == sender)
        .exists()
    )
    outcome = case((used >= budget, HELD), (muted, MUTED), else_=SENT)
    return select(team, sender, recipient, kind, key, day, outcome, created_at).where(
        ~seen.exists()
    )


# What `decision` selects, in order.
COLUMNS = (
    "team_id",
    "sender_id",
    "recipient_id",
    "kind",
    "key",
    "local_day",
    "outcome",
    "created_at",
)


def _admit_statement() -> Any:
    """INSERT … SELECT of the decision, RETURNING it; nothing when the key is there."""
    dms = cast(Table, PersonDM.__table__)
    chosen = decision(
        team=bindparam("team_id", type_=String()),
        sender=bindparam("sender_id", type_=String()),
        recipient=bindparam("recipient_id", type_=String()),
        kind=bindparam("kind", type_=String()),
        key=bindparam("key", type_=String()),
        day=bindparam("day", type_=Date()),
        created_at=bindparam("created_at", type_=UTCDateTime()),
    )
    return insert(dms).from_select(list(COLUMNS), chosen).returning(dms.c.outcome)


async def _muted(session: AsyncSession, params: dict[str, Any]) -> bool:
    return (await session.execute(_MUTED, params)).first() is not None


# Built once: every DM one person's action sends another runs these.
_ADMIT = OnDriver(_admit_statement())
_BEFORE = select(PersonDM.outcome).where(
    PersonDM.team_id == bindparam("team_id"),
    PersonDM.recipient_id == bindparam("recipient_id"),
    PersonDM.key == bindparam("key"),
)
_MUTED = select(Mute.muted_id).where(
    Mute.team_id == bindparam("team_id"),
    Mute.user_id == bindparam("recipient_id"),
    Mute.muted_id == bindparam("sender_id"),
)
_RECIPIENT_TZ = select(Person.tz).where(
    Person.team_id == bindparam("team_id"), Person.user_id == bindparam("recipient_id")
)


async def _hold(
    session: AsyncSession,
    *,
    team_id: str,
    sender_id: str,
    recipient_id: str,
    key: str,
    ref: dict[str, Any],
    day: date,
    now: datetime,
) -> None:
    """An item for the recipient's next daily message; its subject is the sender, so an
    erase of either removes it."""
    stmt = insert_for(session, Nudge).values(
        team_id=team_id,
        user_id=recipient_id,
        kind=HELD_KIND,
        subject=sender_id,
        period=_short(key),
        local_day=day,
        expires_day=day + timedelta(days=HELD_DAYS),
        payload=ref,
        status="planned",
        planned_at=now,
    )
    await session.execute(
        stmt.on_conflict_do_nothing(
            index_elements=["team_id", "user_id", "kind", "subject", "period"]
        )
    )


async def purge_ledger(session: AsyncSession, *, before: datetime) -> int:
    """Counts are only needed for the day they are in; older days go (a small table: a few
    days of person-to-person DMs)."""
    result = await session.execute(delete(PersonDM).where(PersonDM.local_day < before.date()))
    return int(getattr(result, "rowcount", 0) or 0)


# -- mutes -------------------------------------------------------------------------------


class MuteError(ValueError):
    """A mute allybot will not record; the message says what would work."""


async def muted_by(session: AsyncSession, *, team_id: str, user_id: str) -> list[str]:
    """Whom this person muted, oldest first."""
    stmt = (
        select(Mute.muted_id)
        .where(Mute.team_id == team_id, Mute.user_id == user_id)
        .order_by(Mute.created_at, Mute.muted_id)
        .limit(MAX_MUTES)
    )
    return list((await session.execute(stmt)).scalars())


async def mute(
    session: AsyncSession, *, team_id: str, user_id: str, muted_id: str, now: datetime
) -> bool:
    """Stop `muted_id`'s promises and kudos DMs reaching `user_id`; False if already muted."""
    if muted_id == user_id:
        raise MuteError(_("You can't mute yourself."))
    if len(await muted_by(session, team_id=team_id, user_id=user_id)) >= MAX_MUTES:
        raise MuteError(
            ngettext(
                "You can mute at most {n} person; unmute someone first.",
                "You can mute at most {n} people; unmute someone first.",
                MAX_MUTES,
            )
        )

    stmt = (
        insert_for(session, Mute)
        .values(team_id=team_id, user_id=user_id, muted_id=muted_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "muted_id"])
        .returning(Mute.muted_id)
    )
    added = (await session.execute(stmt)).scalar_one_or_none() is not None
    # What they held back for this person's daily message is not told either.
    await session.execute(
        delete(Nudge).where(
            Nudge.team_id == team_id,
            Nudge.user_id == user_id,
            Nudge.kind == HELD_KIND,
            Nudge.subject == muted_id,
            Nudge.status == "planned",
            Nudge.message_id.is_(None),
        )
    )
    return added


async def unmute(session: AsyncSession, *, team_id: str, user_id: str, muted_id: str) -> bool:
    result = await session.execute(
        delete(Mute).where(
            Mute.team_id == team_id, Mute.user_id == user_id, Mute.muted_id == muted_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def set_muted(
    session: AsyncSession, *, team_id: str, user_id: str, muted: Sequence[str], now: datetime
) -> None:
    """Make the mute list exactly `muted` (Home's picker)."""
    wanted = [m for m in dict.fromkeys(muted) if m != user_id][:MAX_MUTES]
    for gone in set(await muted_by(session, team_id=team_id, user_id=user_id)) - set(wanted):
        await unmute(session, team_id=team_id, user_id=user_id, muted_id=gone)
    for uid in wanted:
        await mute(session, team_id=team_id, user_id=user_id, muted_id=uid, now=now)
