"""The group posts of each match (the introduction, then the follow-up a week later): planned
as outbox rows when the round is matched, rendered from the match when they are sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import IntroMatch, OutboxMessage
from bot.services.intros.history import members_of
from bot.services.intros.rules import FOLLOW_UP, FOLLOW_UP_AFTER, INTRO, WELCOME


async def plan_posts(
    session: AsyncSession,
    *,
    team_id: str,
    match_ids: list[int],
    now: datetime,
    first: str = INTRO,
    due_at: datetime | None = None,
) -> None:
    """Each match's introduction (`first`: an intro, or a newcomer's welcome), due at `due_at`
    (now by default), and its follow-up, due a week later."""
    due_at = due_at or now
    if not match_ids:
        return
    await session.execute(
        insert(OutboxMessage),
        [
            {
                "team_id": team_id,
                "kind": kind,
                "subject": str(match_id),
                "status": "pending",
                "lease_until": due,  # nobody takes it before it is due
                "attempts": 0,
                "created_at": now,
            }
            for match_id in match_ids
            for kind, due in ((first, due_at), (FOLLOW_UP, due_at + FOLLOW_UP_AFTER))
        ],
    )


@dataclass(frozen=True)
class Group:
    """A match and who is in it, as a post needs them."""

    match: IntroMatch
    members: list[str]


async def group_of(session: AsyncSession, *, match_id: int) -> Group | None:
    match = await session.get(IntroMatch, match_id)
    if match is None:
        return None
    return Group(match=match, members=await members_of(session, match_id=match_id))


async def intro_sent(session: AsyncSession, *, team_id: str, match_id: int) -> bool:
    """The follow-up only goes where the introduction (or the welcome) went."""
    stmt = select(OutboxMessage.status).where(
        OutboxMessage.team_id == team_id,
        OutboxMessage.kind.in_((INTRO, WELCOME)),
        OutboxMessage.subject == str(match_id),
    )
    return "sent" in set((await session.execute(stmt)).scalars())


async def set_group_dm(session: AsyncSession, *, match_id: int, channel_id: str) -> None:
    await session.execute(
        update(IntroMatch).where(IntroMatch.id == match_id).values(channel_id=channel_id)
    )
