"""The group posts of each match (the introduction, then the follow-up a week later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_of
from bot.models import (
    IntroMatch,
    IntroPost,
)
from bot.services.intros.history import members_of
from bot.services.intros.rules import INTRO, LEASE, MAX_ATTEMPTS, WELCOME


async def claim_posts(
    session: AsyncSession, *, now: datetime, token: str, limit: int, team_id: str | None = None
) -> list[int]:
    """Due posts nobody holds, now ours for a lease; FOR UPDATE SKIP LOCKED on PostgreSQL."""
    free = and_(
        IntroPost.status == "pending",
        IntroPost.due_at <= now,
        or_(IntroPost.lease_until.is_(None), IntroPost.lease_until < now),
    )
    stmt = select(IntroPost.id).where(free).order_by(IntroPost.id).limit(limit)
    if team_id:
        stmt = stmt.where(IntroPost.team_id == team_id)
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list((await session.execute(stmt)).scalars())
    if not ids:
        return []
    await session.execute(
        update(IntroPost)
        .where(IntroPost.id.in_(ids), free)
        .values(claim_token=token, lease_until=now + LEASE, attempts=IntroPost.attempts + 1)
    )
    mine = select(IntroPost.id).where(IntroPost.id.in_(ids), IntroPost.claim_token == token)
    return list((await session.execute(mine.order_by(IntroPost.id))).scalars())


@dataclass(frozen=True)
class PostWork:
    """What sending one post needs."""

    post: IntroPost
    match: IntroMatch
    members: list[str]
    crashed_before: bool  # a previous holder died after the post may have left


async def post_work(session: AsyncSession, *, post_id: int, token: str) -> PostWork | None:
    post = await session.get(IntroPost, post_id)
    if post is None or post.claim_token != token or post.status != "pending":
        return None
    match = await session.get(IntroMatch, post.match_id)
    if match is None:
        return None
    members = await members_of(session, match_id=match.id)
    return PostWork(
        post=post,
        match=match,
        members=members,
        crashed_before=post.sending_at is not None and post.error is None,
    )


async def intro_sent(session: AsyncSession, *, match_id: int) -> bool:
    """The follow-up only goes where the introduction went."""
    stmt = select(IntroPost.status).where(
        IntroPost.match_id == match_id, IntroPost.kind.in_((INTRO, WELCOME))
    )
    return "sent" in set((await session.execute(stmt)).scalars())


async def set_group_dm(session: AsyncSession, *, match_id: int, channel_id: str) -> None:
    await session.execute(
        update(IntroMatch).where(IntroMatch.id == match_id).values(channel_id=channel_id)
    )


async def mark_post_sending(
    session: AsyncSession, *, post_id: int, token: str, now: datetime
) -> bool:
    """Note the post is about to leave; False if the claim was lost meanwhile."""
    result = await session.execute(
        update(IntroPost)
        .where(
            IntroPost.id == post_id, IntroPost.claim_token == token, IntroPost.status == "pending"
        )
        .values(sending_at=now, error=None)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_post_sent(
    session: AsyncSession, *, post_id: int, channel_id: str, ts: str, now: datetime
) -> None:
    await session.execute(
        update(IntroPost)
        .where(IntroPost.id == post_id)
        .values(status="sent", channel_id=channel_id, ts=ts, sent_at=now, lease_until=None)
    )


async def mark_post_failed(
    session: AsyncSession, *, post_id: int, now: datetime, error: str, permanent: bool
) -> str:
    """Retried after a backoff, or failed for good with its reason."""
    post = await session.get(IntroPost, post_id)
    if post is None:
        return "gone"
    post.error = error[:2000]
    post.sending_at = None
    if permanent or post.attempts >= MAX_ATTEMPTS:
        post.status = "failed"
    else:
        post.lease_until = now + timedelta(seconds=30 * 2**post.attempts)
    await session.flush()
    return post.status


async def cancel_post(session: AsyncSession, *, post_id: int, why: str) -> None:
    await session.execute(
        update(IntroPost).where(IntroPost.id == post_id).values(status="cancelled", error=why)
    )
