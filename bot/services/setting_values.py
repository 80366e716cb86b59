"""The workspace settings' values that several fields share (a channel, a working day, a time
of day), read as people write them; each refusal is a whole sentence per field, in the
language of whoever is setting it (`workspace_settings.WorkspaceSettings` uses these)."""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import PydanticCustomError

from bot import i18n
from bot.i18n import N_, _
from bot.text import snippet

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WORKING_DAYS = DAYS[:5]
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
CHANNEL_LINK = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def refuse(message: str, *, index: int | None = None) -> PydanticCustomError:
    """A field error with allybot's own words (and the list item it is about, if any)."""
    return PydanticCustomError(
        "workspace_setting", "{message}", {"message": message, "index": index}
    )


# Each field's refusal as a whole sentence, so a translation can say it its own way.
NOT_A_CHANNEL = {
    "kudos_channel": N_(
        "`{text}` is not a channel id. Give the kudos channel as its id (C…, under the "
        "channel's name → About), or leave it empty for none."
    ),
    "intros_channel": N_(
        "`{text}` is not a channel id. Give the intros channel as its id (C…, under the "
        "channel's name → About), or leave it empty for none."
    ),
}
NOT_A_WORKING_DAY = {
    "intros_day": N_("The intros day is a working day, from {first} to {last}."),
    "digest_day": N_("The digest day is a working day, from {first} to {last}."),
}
NOT_A_TIME = {
    "window_start": N_(
        "Give the start of the delivery window as a time on a 24-hour clock, such as 09:00."
    ),
    "window_end": N_(
        "Give the end of the delivery window as a time on a 24-hour clock, such as 17:00."
    ),
}


def channel(value: Any, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if link := CHANNEL_LINK.match(text):
        return link.group(1)
    if not CHANNEL_ID.match(text):
        raise refuse(_(NOT_A_CHANNEL[field], text=snippet(text)))
    return text


def working_day(value: Any, field: str) -> int:
    text = str(value).strip().lower()
    for index, name in enumerate(WORKING_DAYS):
        if text in (name, name[:3]):
            return index
    raise refuse(
        _(
            NOT_A_WORKING_DAY[field],
            first=i18n.weekday_name(0),
            last=i18n.weekday_name(len(WORKING_DAYS) - 1),
        )
    )


def clock_minutes(value: Any, field: str) -> int:
    match = CLOCK.match(str(value).strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise refuse(_(NOT_A_TIME[field]))
    return int(match.group(1)) * 60 + int(match.group(2))
