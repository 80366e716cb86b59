"""A weekly series of the workspace report and its reading in plain words; a week over
fewer than 5 people is not shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.services.recognition import MIN_PEOPLE, SUPPRESSED


@dataclass(frozen=True)
class Point:
    """One week of a series: the value, and how many people it is computed over."""

    week: date
    value: float | None
    people: int

    @property
    def shown(self) -> float | None:
        """The value, or None when it is over fewer than MIN_PEOPLE people."""
        return self.value if self.people >= MIN_PEOPLE and self.value is not None else None


@dataclass(frozen=True)
class Series:
    key: str
    title: str
    unit: str  # "count" or "share"
    meaning: str
    points: list[Point] = field(default_factory=list)

    @property
    def reading(self) -> str:
        return read_series(self)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return SUPPRESSED
    return f"{value:.0%}" if unit == "share" else f"{value:,.0f}"


def read_series(series: Series) -> str:
    """One or two plain sentences: the level, and the direction between halves."""
    shown = [p.shown for p in series.points if p.shown is not None]
    if not shown:
        return f"Every week is over fewer than {MIN_PEOPLE} people, so nothing is shown."
    hidden = len(series.points) - len(shown)
    mean = sum(shown) / len(shown)
    level = (
        f"On average {fmt(mean, series.unit)} a week"
        if series.unit == "share"
        else f"On average {mean:,.1f} a week"
    )
    text = f"{level} over {len(shown)} week{'s' if len(shown) != 1 else ''} shown."
    if len(shown) >= 4:
        half = len(shown) // 2
        early, late = sum(shown[:half]) / half, sum(shown[-half:]) / half
        base = max(abs(early), 1e-9)
        change = (late - early) / base
        if series.unit == "share":
            change = late - early
            if abs(change) < 0.05:
                text += " Steady between the first and second half."
            else:
                text += (
                    f" {'Up' if change > 0 else 'Down'} from {fmt(early, 'share')} to "
                    f"{fmt(late, 'share')} between the first and second half."
                )
        elif abs(change) < 0.1:
            text += " Steady between the first and second half."
        else:
            text += (
                f" {'Up' if change > 0 else 'Down'} {abs(change):.0%} between the first and "
                "second half."
            )
    if hidden:
        weeks = f"{hidden} week{'s' if hidden != 1 else ''}"
        text += f" {weeks} over fewer than {MIN_PEOPLE} people not shown."
    return f"{series.meaning} {text}"
