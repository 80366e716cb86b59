"""Working hours in real time: when people in different zones can meet, for intros.

A person's hours are their delivery window (their working hours, Monday to Friday, in their
own Slack time zone) over the week after a round, as UTC minutes since the Unix epoch, so
two people's hours compare directly, daylight saving included. Pure: no database, no Slack.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import i18n

Hours = tuple[tuple[int, int], ...]  # sorted, disjoint [start, end) in epoch minutes

SPAN = timedelta(days=7)  # the week an intro asks people to meet in
MEET = 30  # minutes in common below this are no overlap: not even one slot fits
GOOD = 60  # an hour or more in common is what intros prefer
SLOT = 30  # the length of a proposed slot
SLOT_STEP = 30  # slots start on the hour or the half hour (UTC)
LEAD = timedelta(hours=12)  # the first slot is at least this far from the introduction
ALWAYS: Hours = ()  # no constraint (someone whose hours allybot does not know)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def moment_of(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def working_hours(
    tz: str, start: int, end: int, *, since: datetime, span: timedelta = SPAN
) -> Hours:
    """`start`..`end` (minutes after local midnight) on each working day in `tz`, within
    `since` .. `since + span`, in epoch minutes."""
    zone = _zone(tz)
    low, high = minute_of(since), minute_of(since + span)
    first = since.astimezone(zone).date() - timedelta(days=1)
    out: list[tuple[int, int]] = []
    for offset in range(span.days + 3):
        day = first + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        a = max(low, minute_of(midnight + timedelta(minutes=start)))
        b = min(high, minute_of(midnight + timedelta(minutes=end)))
        if b > a:
            out.append((a, b))
    return tuple(out)


def common(first: Hours, second: Hours) -> Hours:
    """The times in both."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        a = max(first[i][0], second[j][0])
        b = min(first[i][1], second[j][1])
        if b > a:
            out.append((a, b))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def common_all(hours: Iterable[Hours | None]) -> Hours | None:
    """The times everyone has in common; None when nobody's hours are known."""
    result: Hours | None = None
    for h in hours:
        if h is None:
            continue
        result = h if result is None else common(result, h)
    return result


def longest(hours: Hours) -> int:
    """The longest stretch, in minutes."""
    return max((b - a for a, b in hours), default=0)


def slots(shared: Hours, *, after: datetime, count: int = 3) -> list[datetime]:
    """Up to `count` slot starts inside `shared`, at least `LEAD` after `after`, one a day
    while there are days enough (the earliest half hour of each), then more on the longest."""
    earliest = minute_of(after + LEAD)
    starts: list[int] = []
    spans: list[tuple[int, int]] = []
    for a, b in shared:
        a = max(a, earliest)
        first = -(-a // SLOT_STEP) * SLOT_STEP
        if first + SLOT <= b:
            spans.append((first, b))
    by_day: dict[int, int] = {}
    for first, _ in spans:
        by_day.setdefault(first // 1440, first)
    starts = sorted(by_day.values())[:count]
    for first, b in sorted(spans, key=lambda s: s[0] - s[1]):
        t = first + 2 * SLOT_STEP
        while len(starts) < count and t + SLOT <= b:
            starts.append(t)
            t += 2 * SLOT_STEP
    return [moment_of(m) for m in sorted(set(starts))[:count]]


def local_label(moment: datetime, tz: str) -> str:
    """ "Tue, Dec 9 14:30" in `tz`, as the reader's language writes a day and a 24-hour
    time: the fallback and the per-person line of a slot."""
    local = moment.astimezone(_zone(tz))
    return f"{i18n.format_skeleton(local, 'MMMEd')} {i18n.format_skeleton(local, 'Hm')}"
