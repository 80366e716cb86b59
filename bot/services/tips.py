"""Conduct tips: the library, and which tip a person sees next.

A person sees every tip once before any repeats (a cycle). Categories they turned down
("not for me") twice come at most once per cycle. Tips and categories are content with
stable ids: the history and ratings keep ids, and the text is translated when shown.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pgettext
from bot.models import TipShown

HELPFUL = "helpful"
NOT_FOR_ME = "not_for_me"
REJECTIONS_TO_LIMIT = 2


class Tip(BaseModel):
    id: str = Field(pattern=r"^[a-z_]+-\d{3}$")
    category: str
    text: str = Field(min_length=20, max_length=280)

    def shown(self) -> str:
        """The tip in the current language: looked up by its id, so what a person rated or
        has seen stays the same tip whatever language they read it in."""
        return pgettext(self.id, self.text)


class TipLibrary(BaseModel):
    categories: dict[str, str]
    tips: list[Tip]

    @model_validator(mode="after")
    def _consistent(self) -> TipLibrary:
        ids = [t.id for t in self.tips]
        if len(ids) != len(set(ids)):
            raise ValueError("tip ids must be unique")
        unknown = {t.category for t in self.tips} - set(self.categories)
        if unknown:
            raise ValueError(f"unknown categories: {sorted(unknown)}")
        return self

    def by_id(self, tip_id: str) -> Tip | None:
        return next((t for t in self.tips if t.id == tip_id), None)

    def title(self, category: str) -> str:
        """A category's title in the current language ("" for one the library lacks)."""
        english, context = self.categories.get(category), f"category:{category}"
        return pgettext(context, english) if english else ""


@lru_cache(maxsize=1)
def library() -> TipLibrary:
    """The tips shipped with allybot, validated once."""
    text = resources.files("bot").joinpath("tips.yaml").read_text(encoding="utf-8")
    return TipLibrary.model_validate(yaml.safe_load(text))


@dataclass(frozen=True)
class History:
    """What a person has seen in their current cycle, and which categories they turned down."""

    cycle: int
    seen: frozenset[str]
    seen_categories: Counter[str]
    rejected: frozenset[str]
    last_category: str | None


async def history(session: AsyncSession, *, team_id: str, user_id: str) -> History:
    """One person's tip history, bounded to what matters: the current cycle and ratings."""
    who = (TipShown.team_id == team_id, TipShown.user_id == user_id)
    cycle = (await session.execute(select(func.max(TipShown.cycle)).where(*who))).scalar() or 0
    rows = (
        await session.execute(
            select(TipShown.tip_id, TipShown.category)
            .where(*who, TipShown.cycle == cycle)
            .order_by(TipShown.id)
        )
    ).all()
    rejected = (
        await session.execute(
            select(TipShown.category)
            .where(*who, TipShown.rating == NOT_FOR_ME)
            .group_by(TipShown.category)
            .having(func.count() >= REJECTIONS_TO_LIMIT)
        )
    ).scalars()
    return History(
        cycle=max(cycle, 1),
        seen=frozenset(r.tip_id for r in rows),
        seen_categories=Counter(r.category for r in rows),
        rejected=frozenset(rejected),
        last_category=rows[-1].category if rows else None,
    )


def choose(lib: TipLibrary, past: History, *, seed: str) -> tuple[Tip, int]:
    """The next tip and its cycle: unseen in this cycle, a rejected category at most once,
    not the same category twice running when there is a choice; varied per person."""
    for cycle, seen, counts in (
        (past.cycle, past.seen, past.seen_categories),
        (past.cycle + 1, frozenset[str](), Counter[str]()),
    ):
        candidates = [
            t
            for t in lib.tips
            if t.id not in seen and not (t.category in past.rejected and counts[t.category] >= 1)
        ]
        if candidates:
            fresh = [t for t in candidates if t.category != past.last_category] or candidates
            return min(fresh, key=lambda t: _rank(seed, cycle, t.id)), cycle
    raise LookupError("the tip library is empty")


def _rank(seed: str, cycle: int, tip_id: str) -> str:
    return hashlib.sha256(f"{seed}:{cycle}:{tip_id}".encode()).hexdigest()


async def shown_for_nudge(session: AsyncSession, *, nudge_id: int) -> TipShown | None:
    """The tip already chosen for a nudge, so re-sending it never changes the tip."""
    stmt = select(TipShown).where(TipShown.nudge_id == nudge_id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def pick_for_nudge(
    session: AsyncSession, *, team_id: str, user_id: str, nudge_id: int, record: bool = True
) -> tuple[Tip, TipShown | None]:
    """The tip a nudge carries; chosen and recorded on first use."""
    lib = library()
    existing = await shown_for_nudge(session, nudge_id=nudge_id)
    if existing is not None:
        tip = lib.by_id(existing.tip_id)
        if tip is not None:
            return tip, existing
    past = await history(session, team_id=team_id, user_id=user_id)
    tip, cycle = choose(lib, past, seed=f"{team_id}:{user_id}")
    if not record:
        return tip, None
    shown = TipShown(
        team_id=team_id,
        user_id=user_id,
        nudge_id=nudge_id,
        tip_id=tip.id,
        category=tip.category,
        cycle=cycle,
    )
    session.add(shown)
    await session.flush()
    return tip, shown


class NotYours(Exception):
    """Someone pressed a button on a message meant for another person."""


async def rate(
    session: AsyncSession, *, team_id: str, user_id: str, shown_id: int, rating: str
) -> TipShown:
    """Record a person's rating of a tip they were sent."""
    if rating not in (HELPFUL, NOT_FOR_ME):
        raise ValueError(f"unknown rating {rating!r}")
    shown = await session.get(TipShown, shown_id)
    if shown is None or shown.team_id != team_id or shown.user_id != user_id:
        raise NotYours(shown_id)
    shown.rating = rating
    await session.flush()
    return shown
