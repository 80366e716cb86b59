""" "Me too" on a kudos: the kudos emoji on allybot's own kudos post adds the reactor's voice.

The +1 is a kudos of its own (same receivers, a short reason naming the original), so the
daily limit, the 10-minute merge, privacy and contact all apply as for any kudos. The post
shows how many joined in, edited in place once the reactions settle (`KudosPostUpdate`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import text as texts
from bot.db import insert_for
from bot.i18n import N_, _
from bot.ids import erased
from bot.models import Kudos, KudosPostUpdate
from bot.services.kudos import MAX_TEXT

SOURCE = "plusone"
# How long a post waits after the last change before it is edited: a burst of reactions
# becomes one chat.update. ALLYBOT_DEBOUNCE_SECONDS shortens it for the tests, which wait it
# out after each reaction; not a setting to deploy with.
DEBOUNCE = timedelta(seconds=float(os.environ.get("ALLYBOT_DEBOUNCE_SECONDS") or 2))
# A handler that died before its edit leaves the row for a scheduler pass after this.
STALE = timedelta(seconds=30)
LEASE = timedelta(seconds=60)
# A +1's reason once the original's giver erased their data: nothing of theirs is left.
ERASED_REASON = N_("+1 to a kudos")


@dataclass(frozen=True)
class Post:
    """allybot's kudos post as stored: who gave it, to whom, why, with which tags."""

    channel_id: str
    ts: str
    giver_id: str
    receivers: tuple[str, ...]
    reason: str
    tags: tuple[str, ...]


def source_key(channel_id: str, ts: str, reactor_id: str) -> str:
    """One +1 per (person, post), whatever the retries; ends with the reactor's id, like
    every kudos key, so erasing them finds it."""
    return f"{SOURCE}:{channel_id}:{ts}:{reactor_id}"


def reason_for(original: Post, giver_name: str | None) -> str:
    """ "+1 to Ann's kudos: …" in safe markup (the original reason already is), within the
    kudos length limit; the giver by name, so the +1 pings nobody."""
    if giver_name and not erased(original.giver_id):
        text = _(
            "+1 to {name}'s kudos: {reason}",
            name=texts.escape(texts.clean(giver_name)),
            reason=original.reason,
        )
    else:
        text = _("+1 to a kudos: {reason}", reason=original.reason)
    return texts.excerpt(text, MAX_TEXT)


async def find_post(
    session: AsyncSession, *, team_id: str, channel_id: str, ts: str
) -> Post | None:
    """The kudos an allybot post shows, or None when the message is not one."""
    stmt = (
        select(Kudos)
        .where(
            Kudos.team_id == team_id,
            Kudos.post_channel_id == channel_id,
            Kudos.post_ts == ts,
            Kudos.source != SOURCE,
        )
        .order_by(Kudos.id)
        .limit(20)
    )
    rows = list((await session.execute(stmt)).scalars())
    if not rows:
        return None
    first = rows[0]
    return Post(
        channel_id=channel_id,
        ts=ts,
        giver_id=first.giver_id,
        receivers=tuple(dict.fromkeys(r.receiver_id for r in rows)),
        reason=first.text,
        tags=tuple(first.tags or ()),
    )


async def attach(
    session: AsyncSession, *, team_id: str, key: str, channel_id: str, ts: str
) -> None:
    """Tie a +1's rows to the post it joins, so the post's count finds them."""
    await session.execute(
        update(Kudos)
        .where(Kudos.team_id == team_id, Kudos.source_key == key)
        .values(post_channel_id=channel_id, post_ts=ts)
    )


async def withdraw(session: AsyncSession, *, team_id: str, key: str) -> int:
    """Removing the reaction takes the +1 back, for every receiver."""
    result = await session.execute(
        delete(Kudos).where(Kudos.team_id == team_id, Kudos.source_key == key)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def joined(session: AsyncSession, *, team_id: str, channel_id: str, ts: str) -> int:
    """How many people joined in on a post, derived from the +1 kudos themselves."""
    stmt = select(func.count(Kudos.giver_id.distinct())).where(
        Kudos.team_id == team_id,
        Kudos.post_channel_id == channel_id,
        Kudos.post_ts == ts,
        Kudos.source == SOURCE,
    )
    return int((await session.execute(stmt)).scalar_one())


async def schedule_update(
    session: AsyncSession, *, team_id: str, channel_id: str, ts: str, now: datetime
) -> None:
    """The post's count changed: edit it once changes have settled for `DEBOUNCE`."""
    due = now + DEBOUNCE
    stmt = insert_for(session, KudosPostUpdate).values(
        team_id=team_id, channel_id=channel_id, ts=ts, status="pending", due_at=due, shown=0
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "channel_id", "ts"],
            set_={"status": "pending", "due_at": due},
        )
    )


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    team_id: str | None = None,
    channel_id: str | None = None,
    ts: str | None = None,
    grace: timedelta = timedelta(0),
    limit: int = 50,
) -> list[KudosPostUpdate]:
    """Take the edits that are due (one post, or every stale one for a scheduler pass) with a
    lease; an edit whose lease ran out is due again."""
    token = str(uuid.uuid4())
    due = or_(
        (KudosPostUpdate.status == "pending") & (KudosPostUpdate.due_at <= now - grace),
        (KudosPostUpdate.status == "updating") & (KudosPostUpdate.lease_until < now),
    )
    where = [due]
    if team_id is not None:
        where += [
            KudosPostUpdate.team_id == team_id,
            KudosPostUpdate.channel_id == channel_id,
            KudosPostUpdate.ts == ts,
        ]
    ids = list(
        (
            await session.execute(
                select(KudosPostUpdate.id).where(*where).order_by(KudosPostUpdate.id).limit(limit)
            )
        ).scalars()
    )
    if not ids:
        return []
    await session.execute(
        update(KudosPostUpdate)
        .where(KudosPostUpdate.id.in_(ids), due)
        .values(status="updating", claim_token=token, lease_until=now + LEASE)
    )
    stmt = select(KudosPostUpdate).where(KudosPostUpdate.claim_token == token)
    return list((await session.execute(stmt)).scalars())


async def finish(
    session: AsyncSession, *, update_id: int, token: str, shown: int, now: datetime
) -> None:
    """The edit went out; a change that arrived meanwhile left the row pending for its own."""
    await session.execute(
        update(KudosPostUpdate)
        .where(
            KudosPostUpdate.id == update_id,
            KudosPostUpdate.claim_token == token,
            KudosPostUpdate.status == "updating",
        )
        .values(status="done", shown=shown, lease_until=None)
    )
    await session.execute(
        update(KudosPostUpdate).where(KudosPostUpdate.id == update_id).values(shown=shown)
    )


async def give_up(session: AsyncSession, *, update_id: int) -> None:
    """The post is gone (deleted, channel archived): nothing left to edit."""
    await session.execute(
        update(KudosPostUpdate).where(KudosPostUpdate.id == update_id).values(status="gone")
    )


def receivers_left(post: Post, reactor_id: str) -> Sequence[str]:
    """Whom a +1 recognises: the receivers who have not erased their data (nothing is given
    to, looked up for or said about them); empty for the kudos' own giver or receivers, who
    can't +1 it."""
    if reactor_id == post.giver_id or reactor_id in post.receivers:
        return ()
    return tuple(r for r in post.receivers if not erased(r))
