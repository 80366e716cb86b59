"""Natural-language due times ("Friday", "tomorrow 3pm", "end of month") in a person's zone."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import i18n
from bot.i18n import _
from bot.services import when_words
from bot.text import snippet

EXPLICIT_TIME = re.compile(
    r"\b(\d{1,2}(:\d{2})?\s*(am|pm)|\d{1,2}:\d{2}|noon|midday|midnight|morning|afternoon"
    r"|evening|tonight|hours?|minutes?|mins?)\b",
    re.IGNORECASE,
)
WEEKDAYS = [d.lower() for d in calendar.day_name]
DATE_WORDS = re.compile(
    r"\b(today|tomorrow|yesterday|week|month|year|day|days|mon|tue|wed|thu|fri|sat|sun"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2})",
    re.IGNORECASE,
)


class WhenError(ValueError):
    """A due time allybot could not use; the message says why, for the person."""


def end_of_workday(day: date, tz: ZoneInfo, window_end: int) -> datetime:
    """A date without a time means the end of the person's working day."""
    return datetime.combine(day, time(window_end // 60 % 24, window_end % 60), tzinfo=tz)


def _idiom(text: str, local_now: datetime, tz: ZoneInfo, window_end: int) -> datetime | None:
    """Phrases dateparser does not know, or reads differently from people."""
    t = " ".join(text.lower().replace("the ", "").split())
    today = local_now.date()
    if t in ("eod", "end of day", "today", "close of business", "cob"):
        return end_of_workday(today, tz, window_end)
    if t in ("end of week", "eow", "end of this week"):
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        due = end_of_workday(friday, tz, window_end)
        return due if due > local_now else due + timedelta(days=7)
    if t in ("end of month", "eom", "end of this month"):
        last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        due = end_of_workday(last, tz, window_end)
        if due <= local_now:
            nxt = (last + timedelta(days=1)).replace(day=1)
            last = nxt.replace(day=calendar.monthrange(nxt.year, nxt.month)[1])
            due = end_of_workday(last, tz, window_end)
        return due
    if t in WEEKDAYS and WEEKDAYS.index(t) == today.weekday():
        # "by Friday" said on a Friday means today while the working day lasts.
        due = end_of_workday(today, tz, window_end)
        return due if due > local_now else due + timedelta(days=7)
    return None


def _read(said: str, text: str, language: str, local_now: datetime) -> datetime | None:
    """dateparser on the English phrase, then on the person's own words in their language."""
    import dateparser  # here, not at the top: every allybot process starts 35 ms sooner

    settings: dict[str, object] = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    if language in when_words.DAY_FIRST:
        settings["DATE_ORDER"] = "DMY"
    parsed = dateparser.parse(said, languages=["en"], settings=settings)
    if parsed is None and language in when_words.LANGUAGES:
        parsed = dateparser.parse(text, languages=[language], settings=settings)
    return parsed


def reads_as_when(text: str, language: str) -> bool:
    """Whether `text` is a due date said in `language`: for the words that introduce one in
    a `/commit` but also other things ("para el viernes", "para el equipo")."""
    said = when_words.english(text.strip(), language)
    now = datetime.now(UTC)
    if _idiom(said, now, ZoneInfo("UTC"), 17 * 60) is not None:
        return True
    if not (DATE_WORDS.search(said) or EXPLICIT_TIME.search(said)):
        return False
    return _read(said, text, language, now) is not None


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    window_end: int = 17 * 60,
    language: str | None = None,
) -> datetime:
    """The due instant (UTC) for `text` said at `now` by someone in `tz`, in `language`
    (the language allybot is speaking to them, unless given) or in English."""
    text = text.strip()
    if not text:
        raise WhenError(_("Say by when, e.g. `by Friday` or `by tomorrow 3pm`."))
    code = language or i18n.language()
    said = when_words.english(text, code)
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    due = _idiom(said, local_now, zone, window_end)
    if due is None:
        parsed = _read(said, text, code, local_now)
        if parsed is None:
            raise WhenError(
                _(
                    "I couldn't understand `by {text}`. Try `by Friday`, `by tomorrow 3pm`, "
                    "`by 2026-12-01` or `in 2 weeks`.",
                    text=snippet(text),
                )
            )
        if EXPLICIT_TIME.search(said):
            due = parsed.replace(tzinfo=zone)
            if due <= local_now and not DATE_WORDS.search(said):
                due += timedelta(days=1)  # "by 3pm" said at 7pm: tomorrow at 3pm
        else:
            due = end_of_workday(parsed.date(), zone, window_end)
    # Normalise through UTC so a wall time in a DST gap or fold lands on a real instant.
    due_utc = due.astimezone(UTC)
    if due_utc <= now:
        shown = due.astimezone(zone)
        raise WhenError(
            _(
                "`{text}` is {day}, {time} your time, which has already passed. "
                "Pick a time in the future.",
                text=snippet(text),
                day=i18n.format_skeleton(shown, "MMMEd"),
                time=i18n.format_time(shown),
            )
        )

    return due_utc
