"""Intros rules every part shares: when a round is due, who counts as in the pool, the
statuses and limits, and the reason a person sits a round out."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import i18n
from bot.models import (
    Person,
    Workspace,
)

KIND = "intro"  # the nudge kind of the notice to people left out of a round
ROUND_HOUR = 9  # rounds start from 09:00 on the pairing day, in the workspace's zone
FOLLOW_UP_AFTER = timedelta(days=7)
INACTIVE_AFTER = timedelta(days=30)
CONTACT_WINDOW = timedelta(days=180)
LEASE = timedelta(minutes=5)
ROUND_ATTEMPTS = 12  # a round, when Slack keeps refusing the channel's members
MAX_NEVER = 50
CADENCES = (1, 2, 4)
MODES = ("opt_in", "opt_out")
EPOCH_MONDAY = date(2024, 1, 1)  # rounds fall in weeks counted from here, every `cadence`

JOINED, LEFT, NONE = "joined", "left", "none"
YES, NOT_YET, SKIP = "yes", "not_yet", "skip"
INTRO, FOLLOW_UP = "intro", "followup"
WELCOME = "welcome"  # a newcomer's first intro, to volunteer welcomers (services/newcomers)

# Why someone in the pool was not paired, as told to them.
NOT_IN_CHANNEL = "not_in_channel"
INACTIVE = "inactive"


class IntrosError(Exception):
    """Input about intros allybot cannot use; the message says why, privately."""


def in_pool(workspace: Workspace, status: str | None) -> bool:
    """Opt-in: those who joined. Opt-out: everyone in the channel who did not leave."""
    if workspace.intros_mode == "opt_out":
        return status != LEFT
    return status == JOINED


def in_cadence(workspace: Workspace, day: date) -> bool:
    """Whether `day` falls in a round week: weeks from `EPOCH_MONDAY`, every `cadence`."""
    monday = day - timedelta(days=day.weekday())
    return not ((monday - EPOCH_MONDAY).days // 7) % workspace.intros_cadence_weeks


def period_of(day: date) -> str:
    """The period of the round in `day`'s week: its ISO week, such as 2026-W50."""
    iso = (day - timedelta(days=day.weekday())).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def round_period(workspace: Workspace, now: datetime) -> str | None:
    """The round due at `now` (its ISO week), or None: a round week, on or after the pairing
    day from 09:00 in the workspace's zone (a pass that was late that week still runs it)."""
    local = now.astimezone(zone(workspace.timezone))
    if not in_cadence(workspace, local.date()):
        return None
    if local.weekday() < workspace.intros_day:
        return None
    if local.weekday() == workspace.intros_day and local.hour < ROUND_HOUR:
        return None
    return period_of(local.date())


def next_round_day(workspace: Workspace, now: datetime) -> date:
    """The next pairing day (today when today's round is still to come)."""
    local = now.astimezone(zone(workspace.timezone))
    day = local.date()
    for _ in range(7 * max(CADENCES) + 7):
        later = day > local.date() or local.hour < ROUND_HOUR
        if in_cadence(workspace, day) and day.weekday() == workspace.intros_day and later:
            return day
        day += timedelta(days=1)
    return day


def round_seed(team_id: str, period: str) -> int:
    """The same round always gets the same seed, so re-matching it gives the same groups."""
    return zlib.crc32(f"{team_id}:{period}".encode()) & 0x7FFFFFFF


def paused(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_time_line(person: Person, now: datetime) -> str:
    """ "<@U> · Mon 09:05 (Europe/London)": each member's own time when the intro is sent."""
    local = now.astimezone(zone(person.tz))
    when = f"{i18n.format_skeleton(local, 'E')} {i18n.format_skeleton(local, 'Hm')}"
    return f"<@{person.user_id}> · {when} ({person.tz})"
