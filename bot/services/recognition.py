"""The report's headline: the share of active people recognised in the last 7 days, with
its trend, in counts only and not shown over fewer than 5 people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel import numbers as babel_numbers
from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot import i18n
from bot.i18n import N_, _, ngettext
from bot.models import CheckIn, Commitment, Kudos, Person

MIN_PEOPLE = 5  # any figure over fewer people is not shown (the report's rule too)
# As the report's JSON writes a figure not shown; `_(SUPPRESSED)` where a person reads it.
SUPPRESSED = N_("fewer than 5")
# The headline: the share of active people recognised in the last 7 days (Gallup's Q12
# item "In the last seven days, I have received recognition or praise for doing good work").
RECOGNISED_WINDOW = timedelta(days=7)
ACTIVE_WINDOW = timedelta(days=28)
HEADLINE_WEEKS = 8
GALLUP_TYPICAL = 0.25  # about 1 in 4 strongly agree in Gallup's surveys
GALLUP_TARGET = 0.50  # the level Gallup ties to better outcomes


@dataclass(frozen=True)
class Recognised:
    """Of the people active in the 28 days to `end`, how many received kudos in its last 7."""

    end: date
    recognised: int
    active: int

    @property
    def share(self) -> float | None:
        """None when there are fewer than MIN_PEOPLE active people (not shown)."""
        return self.recognised / self.active if self.active >= MIN_PEOPLE else None


@dataclass(frozen=True)
class Headline:
    """The recognition headline, newest window last."""

    windows: list[Recognised]

    @property
    def latest(self) -> Recognised:
        return self.windows[-1]

    @property
    def sentence(self) -> str:
        return headline_sentence(self)

    def to_dict(self) -> dict[str, Any]:
        """For the report's JSON; a suppressed figure is "fewer than 5"."""

        def shown(w: Recognised, value: float) -> float | str:
            return SUPPRESSED if w.share is None else value

        return {
            "reading": self.sentence,
            "weeks": [
                {
                    "end": w.end.isoformat(),
                    "share": shown(w, w.share or 0),
                    "recognised": shown(w, w.recognised),
                    "active": shown(w, w.active),
                }
                for w in self.windows
            ],
        }


async def recognition_headline(
    session: AsyncSession, *, team_id: str, until: datetime, weeks: int = HEADLINE_WEEKS
) -> Headline:
    """The share for the 7 days to `until` and for each of the weeks before, for its trend.

    Active: a person allybot knows (not a bot, not deactivated) who gave or received kudos,
    made a promise or logged a check-in in the 28 days to the window's end. Recognised: an
    active person who received kudos in the window's last 7 days.
    """
    # Every activity in the span is read once and put in a 7-day bucket counted back from
    # `until` (0 = the last 7 days); window k is active over buckets k..k+3 (28 days) and
    # recognised in bucket k.
    per_window = ACTIVE_WINDOW // RECOGNISED_WINDOW
    buckets = weeks - 1 + per_window
    start = until - RECOGNISED_WINDOW * buckets

    def bucket(column: Any) -> Any:
        return case(
            *((column >= until - RECOGNISED_WINDOW * (i + 1), i) for i in range(buckets - 1)),
            else_=buckets - 1,
        )

    in_kudos = (Kudos.team_id == team_id, Kudos.created_at >= start, Kudos.created_at < until)
    activity = union_all(
        select(
            Kudos.receiver_id.label("person"),
            bucket(Kudos.created_at).label("bucket"),
            literal(1).label("hit"),
        ).where(*in_kudos),
        select(Kudos.giver_id, bucket(Kudos.created_at), literal(0)).where(*in_kudos),
        select(Commitment.owner_id, bucket(Commitment.created_at), literal(0)).where(
            Commitment.team_id == team_id,
            Commitment.created_at >= start,
            Commitment.created_at < until,
        ),
        select(CheckIn.user_id, bucket(CheckIn.at), literal(0)).where(
            CheckIn.team_id == team_id, CheckIn.at >= start, CheckIn.at < until
        ),
    ).subquery()
    # One row per person: in which buckets they were active, in which recognised.
    b, hit = activity.c.bucket, activity.c.hit
    per_person = (
        select(
            *(func.max(case((b == i, 1), else_=0)).label(f"a{i}") for i in range(buckets)),
            *(
                func.max(case((and_(b == k, hit == 1), 1), else_=0)).label(f"r{k}")
                for k in range(weeks)
            ),
        )
        .join(
            Person,
            and_(
                Person.team_id == team_id,
                Person.user_id == activity.c.person,
                Person.is_bot.is_(False),
                Person.deleted.is_(False),
            ),
        )
        .group_by(activity.c.person)
        .subquery()
    )
    c = per_person.c
    totals = (
        await session.execute(
            select(
                *(func.sum(case((_added(c, k, per_window) > 0, 1), else_=0)) for k in range(weeks)),
                *(func.sum(c[f"r{k}"]) for k in range(weeks)),
            )
        )
    ).one()
    return Headline(
        [
            Recognised(
                end=(until - RECOGNISED_WINDOW * k).date(),
                recognised=int(totals[weeks + k] or 0),
                active=int(totals[k] or 0),
            )
            for k in range(weeks - 1, -1, -1)
        ]
    )


def _added(columns: Any, first: int, count: int) -> ColumnElement[int]:
    """a{first} + … + a{first + count - 1}: the buckets of one 28-day window."""
    total: ColumnElement[int] = columns[f"a{first}"]
    for i in range(first + 1, first + count):
        total = total + columns[f"a{i}"]
    return total


def percent(value: float) -> str:
    """A share as the current language writes a percentage ("25%", "25 %")."""
    return babel_numbers.format_percent(value, locale=i18n.babel_locale())


def headline_sentence(headline: Headline) -> str:
    """The headline in words: the share, its trend over the weeks before, and Gallup's yardstick."""
    now = headline.latest
    if now.share is None:
        return _(
            "Recognised in the last 7 days: not shown, {suppressed} active people in the 28 "
            "days before.",
            suppressed=_(SUPPRESSED),
        )
    sentences = [
        _(
            "{share} of active people were recognised in the last 7 days "
            "({recognised} of {active}).",
            share=percent(now.share),
            recognised=i18n.format_number(now.recognised),
            active=i18n.format_number(now.active),
        )
    ]
    earlier = [w for w in headline.windows[:-1] if w.share is not None]
    if earlier:
        first = earlier[0]
        assert first.share is not None
        change = now.share - first.share
        weeks = (now.end - first.end).days // 7
        before = percent(first.share)
        if abs(change) < 0.02:
            sentences.append(
                ngettext(
                    "About the same as a week ago ({before}).",
                    "About the same as {n} weeks ago ({before}).",
                    weeks,
                    before=before,
                )
            )
        elif change > 0:
            sentences.append(
                ngettext(
                    "Up from {before} a week ago.",
                    "Up from {before} {n} weeks ago.",
                    weeks,
                    before=before,
                )
            )
        else:
            sentences.append(
                ngettext(
                    "Down from {before} a week ago.",
                    "Down from {before} {n} weeks ago.",
                    weeks,
                    before=before,
                )
            )
    sentences.append(
        _(
            "In Gallup's surveys about 1 in 4 people say they were recognised in the last seven "
            "days; {target} is the level they tie to better outcomes.",
            target=percent(GALLUP_TARGET),
        )
    )
    return " ".join(sentences)
