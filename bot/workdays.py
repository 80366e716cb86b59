"""Working days (Monday to Friday), for follow-ups counted in working days."""

from __future__ import annotations

from datetime import date, timedelta


def add_working_days(day: date, count: int) -> date:
    """The date `count` working days after `day`."""
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day
