"""Conduct tips: the library, and which tip a person sees next.

A person sees every tip once before any repeats (a cycle). Categories they turned down
("not for me") twice come at most once per cycle. Tips and categories are content with
stable ids: the history and ratings keep ids, and the text is translated when shown.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import content
from bot.i18n import pgettext
from bot.models import Nudge, TipShown

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
    return TipLibrary.model_validate(content.read("tips.yaml"))


Who = tuple[str, str]  # (team_id, user_id)


@dataclass(frozen=True)
class History:
    """What a person has seen in their current cycle, and which categories they turned down."""

    cycle: int
    seen: frozenset[str]
    seen_categories: Counter[str]
    rejected: frozenset[str]
    last_category: str | None

    def after(self, tip: Tip, cycle: int) -> History:
        """The history once `tip` is shown in `cycle` (the next pick for the same person)."""
        same = cycle == self.cycle
        return History(
            cycle=cycle,
            seen=(self.seen if same else frozenset[str]()) | {tip.id},
            seen_categories=(self.seen_categories if same else Counter[str]())
            + Counter([tip.category]),
            rejected=self.rejected,
            last_category=tip.category,
        )


async def histories(session: AsyncSession, people: Iterable[Who]) -> dict[Who, History]:
    """Each person's tip history, bounded to what matters (their current cycle, and the
    categories they turned down), in two reads however many people there are."""
    wanted = set(people)
    teams, users = {t for t, _ in wanted}, {u for _, u in wanted}
    latest = aliased(TipShown)
    current_cycle = (
        select(func.max(latest.cycle))
        .where(latest.team_id == TipShown.team_id, latest.user_id == TipShown.user_id)
        .scalar_subquery()
    )
    mine = (TipShown.team_id.in_(teams), TipShown.user_id.in_(users))
    rows = (
        await session.execute(
            select(TipShown.team_id, TipShown.user_id, TipShown.tip_id, TipShown.category)
            .add_columns(TipShown.cycle)
            .where(*mine, TipShown.cycle == current_cycle)
            .order_by(TipShown.id)
        )
    ).all()
    rejected = (
        await session.execute(
            select(TipShown.team_id, TipShown.user_id, TipShown.category)
            .where(*mine, TipShown.rating == NOT_FOR_ME)
            .group_by(TipShown.team_id, TipShown.user_id, TipShown.category)
            .having(func.count() >= REJECTIONS_TO_LIMIT)
        )
    ).all()
    seen: dict[Who, list[Any]] = {who: [] for who in wanted}
    for row in rows:
        if (row.team_id, row.user_id) in seen:
            seen[(row.team_id, row.user_id)].append(row)
    turned_down: dict[Who, set[str]] = {}
    for team_id, user_id, category in rejected:
        turned_down.setdefault((team_id, user_id), set()).add(category)
    return {
        who: History(
            cycle=max(shown[0].cycle if shown else 0, 1),
            seen=frozenset(r.tip_id for r in shown),
            seen_categories=Counter(r.category for r in shown),
            rejected=frozenset(turned_down.get(who, ())),
            last_category=shown[-1].category if shown else None,
        )
        for who, shown in seen.items()
    }


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


async def pick_for_nudges(
    session: AsyncSession, nudges: Sequence[Nudge], *, record: bool = True
) -> dict[int, tuple[Tip, TipShown | None]]:
    """The tip each nudge carries, by nudge id: the one chosen before (so re-sending a
    nudge never changes its tip), else chosen now and, with `record`, recorded. A few
    reads and one insert for the whole group."""
    lib = library()
    ids = [n.id for n in nudges]
    existing = {
        shown.nudge_id: shown
        for shown in (
            await session.execute(select(TipShown).where(TipShown.nudge_id.in_(ids)))
        ).scalars()
    }
    picked: dict[int, tuple[Tip, TipShown | None]] = {}
    rest = []
    for nudge in nudges:
        shown = existing.get(nudge.id)
        tip = lib.by_id(shown.tip_id) if shown is not None else None
        if shown is not None and tip is not None:
            picked[nudge.id] = (tip, shown)
        else:
            rest.append(nudge)
    if not rest:
        return picked
    past = await histories(session, ((n.team_id, n.user_id) for n in rest))
    added = []
    for nudge in rest:
        who = (nudge.team_id, nudge.user_id)
        tip, cycle = choose(lib, past[who], seed=f"{nudge.team_id}:{nudge.user_id}")
        past[who] = past[who].after(tip, cycle)
        shown = None
        if record:
            shown = TipShown(
                team_id=nudge.team_id,
                user_id=nudge.user_id,
                nudge_id=nudge.id,
                tip_id=tip.id,
                category=tip.category,
                cycle=cycle,
            )
            added.append(shown)
        picked[nudge.id] = (tip, shown)
    if added:
        session.add_all(added)
        await session.flush()
    return picked


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
