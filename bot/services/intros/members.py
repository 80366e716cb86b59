"""Who takes part in intros: join, leave, pause, resume, the private never list, and
where a person stands (the command and Home)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_for
from bot.i18n import _, ngettext
from bot.models import (
    IntroMember,
    IntroNever,
    Person,
    Workspace,
)
from bot.services.intros import meeting
from bot.services.intros.rules import (
    JOINED,
    LEFT,
    MAX_NEVER,
    NONE,
    IntrosError,
    in_pool,
    next_round_day,
)


@dataclass(frozen=True)
class IntroStatus:
    """What a person sees about their part in intros (command and Home)."""

    channel_id: str | None
    mode: str
    in_pool: bool
    paused_until: datetime | None
    never_count: int
    next_round: date | None
    welcomer: bool = False
    meets: meeting.Meeting = field(default_factory=meeting.remote)


async def member(session: AsyncSession, team_id: str, user_id: str) -> IntroMember | None:
    return await session.get(IntroMember, (team_id, user_id))


async def _upsert(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime, **values: object
) -> IntroMember:
    row = await member(session, team_id, user_id)
    if row is None:
        row = IntroMember(team_id=team_id, user_id=user_id, status=NONE, updated_at=now)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.last_active_at = now
    row.updated_at = now
    await session.flush()
    return row


async def _configured(session: AsyncSession, team_id: str) -> Workspace:
    workspace = await session.get(Workspace, team_id)
    if workspace is None or not workspace.intros_channel_id:
        raise IntrosError(
            _(
                "Intros aren't set up in this workspace yet: an admin chooses the intros channel "
                "in `/ally admin`."
            )
        )
    return workspace


async def join(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Workspace:
    """Into the pool from the next round (and out of any intros pause)."""
    workspace = await _configured(session, team_id)
    row = await member(session, team_id, user_id)
    joined_at = row.joined_at if row and row.status == JOINED and row.joined_at else now
    await _upsert(
        session,
        team_id=team_id,
        user_id=user_id,
        now=now,
        status=JOINED,
        paused_until=None,
        joined_at=joined_at,
    )
    return workspace


async def leave(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Workspace:
    workspace = await _configured(session, team_id)
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, status=LEFT)
    return workspace


async def pause(
    session: AsyncSession, *, team_id: str, user_id: str, length: timedelta, now: datetime
) -> datetime:
    """Sit out the rounds until `now + length`; still in the pool after."""
    workspace = await _configured(session, team_id)
    row = await member(session, team_id, user_id)
    if not in_pool(workspace, row.status if row else None):
        raise IntrosError(_("You're not in intros: `/ally intros join` first."))
    until = now + length
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, paused_until=until)
    return until


async def resume(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> None:
    await _configured(session, team_id)
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, paused_until=None)


async def set_welcomer(
    session: AsyncSession, *, team_id: str, user_id: str, on: bool, now: datetime
) -> Workspace:
    """`/ally intros welcome on|off`: volunteer to meet newcomers in their first intro."""
    workspace = await _configured(session, team_id)
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, welcomer=on)
    return workspace


async def set_meeting(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    mode: str,
    place: str | None,
    now: datetime,
) -> Workspace:
    """Meet remote, or in person at `place` (None: where the Slack profile says, when the
    admins named a location field)."""
    workspace = await _configured(session, team_id)
    if mode not in (meeting.REMOTE, meeting.IN_PERSON):
        raise IntrosError(_("Meet `remote` or `in person`."))
    values: dict[str, object] = {"meet_mode": mode}
    if mode == meeting.IN_PERSON:
        values["location"] = place
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, **values)
    return workspace


async def mark_active(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> None:
    """The person acted on intros (an answer, a button): they are not inactive."""
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)


async def add_never(
    session: AsyncSession, *, team_id: str, user_id: str, other: Person, now: datetime
) -> bool:
    """Never pair `user_id` with `other` (either way). Nobody is told. False if already so."""
    if other.user_id == user_id:
        raise IntrosError(_("Name someone else: you're never paired with yourself."))
    if other.is_bot or other.user_id == "USLACKBOT":
        raise IntrosError(_("<@{user}> is a bot; intros only pair people.", user=other.user_id))
    existing = await nevers_of(session, team_id=team_id, user_id=user_id)
    if other.user_id in existing:
        return False
    if len(existing) >= MAX_NEVER:
        raise IntrosError(
            ngettext(
                "Your list already has {n} person, the most it keeps.",
                "Your list already has {n} people, the most it keeps.",
                MAX_NEVER,
            )
        )
    stmt = insert_for(session, IntroNever).values(
        team_id=team_id, user_id=user_id, other_id=other.user_id, created_at=now
    )
    await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["team_id", "user_id", "other_id"])
    )
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)
    return True


def check_never_list(user_id: str, others: Sequence[str]) -> str | None:
    """What is wrong with a never list as picked in the Home modal, if anything."""
    if user_id in others:
        return _("Leave yourself out: you're never paired with yourself.")
    if len(set(others)) > MAX_NEVER:
        return ngettext("At most {n} person.", "At most {n} people.", MAX_NEVER)

    return None


async def set_nevers(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    others: Sequence[Person],
    now: datetime,
) -> list[str]:
    """Replace the never list (the Home modal); bots and oneself are left out. Nobody is
    told. Returns the list kept."""
    keep = sorted({p.user_id for p in others if p.user_id != user_id and not p.is_bot})[:MAX_NEVER]
    await session.execute(
        delete(IntroNever).where(
            IntroNever.team_id == team_id,
            IntroNever.user_id == user_id,
            IntroNever.other_id.not_in(keep) if keep else IntroNever.id.is_not(None),
        )
    )
    if keep:
        stmt = insert_for(session, IntroNever).values(
            [
                {"team_id": team_id, "user_id": user_id, "other_id": o, "created_at": now}
                for o in keep
            ]
        )
        await session.execute(
            stmt.on_conflict_do_nothing(index_elements=["team_id", "user_id", "other_id"])
        )
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)
    return keep


async def remove_never(
    session: AsyncSession, *, team_id: str, user_id: str, other_id: str, now: datetime
) -> bool:
    result = await session.execute(
        delete(IntroNever).where(
            IntroNever.team_id == team_id,
            IntroNever.user_id == user_id,
            IntroNever.other_id == other_id,
        )
    )
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)
    return bool(getattr(result, "rowcount", 0))


async def nevers_of(session: AsyncSession, *, team_id: str, user_id: str) -> list[str]:
    stmt = (
        select(IntroNever.other_id)
        .where(IntroNever.team_id == team_id, IntroNever.user_id == user_id)
        .order_by(IntroNever.id)
        .limit(MAX_NEVER + 1)
    )
    return list((await session.execute(stmt)).scalars())


async def status(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> IntroStatus:
    workspace = await session.get(Workspace, team_id)
    row = await member(session, team_id, user_id)
    count = len(await nevers_of(session, team_id=team_id, user_id=user_id))
    configured = workspace is not None and bool(workspace.intros_channel_id)
    paused = row.paused_until if row and row.paused_until and row.paused_until > now else None
    return IntroStatus(
        channel_id=workspace.intros_channel_id if workspace else None,
        mode=workspace.intros_mode if workspace else "opt_in",
        in_pool=configured
        and workspace is not None
        and in_pool(workspace, row.status if row else None),
        paused_until=paused,
        never_count=count,
        next_round=next_round_day(workspace, now) if configured and workspace else None,
        welcomer=bool(row and row.welcomer),
        meets=await meeting.meeting_of(session, team_id=team_id, user_id=user_id),
    )
