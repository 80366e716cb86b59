"""A weekly series of the workspace report and its reading in plain words; a week over
fewer than 5 people is not shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from babel import numbers as babel_numbers

from bot import i18n
from bot.i18n import _, ngettext
from bot.services.recognition import MIN_PEOPLE, SUPPRESSED, percent


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
    """A weekly series; its title and meaning are kept in English and read in the language
    of whoever is reading the report (`title`, `meaning`)."""

    key: str
    title_text: str
    unit: str  # "count" or "share"
    meaning_text: str
    points: list[Point] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _(self.title_text)

    @property
    def meaning(self) -> str:
        return _(self.meaning_text)

    @property
    def reading(self) -> str:
        return read_series(self)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return _(SUPPRESSED)
    return percent(value) if unit == "share" else i18n.format_number(round(value))


def read_series(series: Series) -> str:
    """One or two plain sentences: the level, and the direction between halves."""
    shown = [p.shown for p in series.points if p.shown is not None]
    if not shown:
        return _(
            "Every week is over fewer than {n} people, so nothing is shown.",
            n=i18n.format_number(MIN_PEOPLE),
        )
    hidden = len(series.points) - len(shown)
    mean = sum(shown) / len(shown)
    average = fmt(mean, "share") if series.unit == "share" else _one_decimal(mean)
    sentences = [
        series.meaning,
        ngettext(
            "On average {average} a week over {n} week shown.",
            "On average {average} a week over {n} weeks shown.",
            len(shown),
            average=average,
        ),
    ]
    if len(shown) >= 4:
        sentences.append(_trend(series.unit, shown))
    if hidden:
        sentences.append(
            ngettext(
                "{n} week over fewer than {people} people not shown.",
                "{n} weeks over fewer than {people} people not shown.",
                hidden,
                people=i18n.format_number(MIN_PEOPLE),
            )
        )
    return " ".join(sentences)


def _one_decimal(value: float) -> str:
    return babel_numbers.format_decimal(value, format="#,##0.0", locale=i18n.babel_locale())


def _trend(unit: str, shown: list[float]) -> str:
    """The direction between the first and the second half of the weeks shown."""
    half = len(shown) // 2
    early, late = sum(shown[:half]) / half, sum(shown[-half:]) / half
    base = max(abs(early), 1e-9)
    change = (late - early) / base
    if unit == "share":
        change = late - early
        if abs(change) < 0.05:
            return _("Steady between the first and second half.")
        values = {"before": fmt(early, "share"), "after": fmt(late, "share")}
        if change > 0:
            return _("Up from {before} to {after} between the first and second half.", **values)
        return _("Down from {before} to {after} between the first and second half.", **values)
    if abs(change) < 0.1:
        return _("Steady between the first and second half.")
    if change > 0:
        return _("Up {change} between the first and second half.", change=percent(abs(change)))
    return _("Down {change} between the first and second half.", change=percent(abs(change)))
