""" "Did you meet?" (Yes / Not yet / Skip) in a match's group DM: the answer is recorded on
that match, and the first Yes counts as contact between everyone in it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_for
from bot.i18n import _
from bot.models import (
    IntroAnswer,
    IntroMatch,
)
from bot.services import allies
from bot.services.intros.history import members_of
from bot.services.intros.members import mark_active
from bot.services.intros.rules import NOT_YET, SKIP, YES, IntrosError


@dataclass(frozen=True)
class Answered:
    match: IntroMatch
    members: list[str]
    answer: str
    first_yes: bool  # this answer recorded the meeting


async def answer(
    session: AsyncSession, *, team_id: str, match_id: int, user_id: str, answer: str, now: datetime
) -> Answered:
    """Record a member's answer on that match (never another); a Yes from any member records
    the meeting once and counts as contact between every two of them."""
    if answer not in (YES, NOT_YET, SKIP):
        raise IntrosError(_("That answer isn't one allybot knows."))
    match = await session.get(IntroMatch, match_id, with_for_update=True)
    members = await members_of(session, match_id=match_id) if match else []
    if match is None or match.team_id != team_id or user_id not in members:
        raise IntrosError(_("That question is for the people in that intro."))

    stmt = insert_for(session, IntroAnswer).values(
        match_id=match_id, team_id=team_id, user_id=user_id, answer=answer, answered_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["match_id", "user_id"],
            set_={"answer": stmt.excluded.answer, "answered_at": stmt.excluded.answered_at},
        )
    )
    first_yes = answer == YES and match.met_at is None
    if first_yes:
        match.met_at, match.met_by = now, user_id
        for a, b in itertools.combinations(members, 2):
            await allies.record_contact(session, team_id=team_id, a=a, b=b, at=now)
    await mark_active(session, team_id=team_id, user_id=user_id, now=now)
    await session.flush()
    return Answered(match=match, members=members, answer=answer, first_yes=first_yes)
