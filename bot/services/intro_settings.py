"""The workspace settings that decide which intros groups fit (see bot/pairing.Fit), read
from the admin modal, the dashboard or a settings file: each refusal says what would work.
`workspace_settings.WorkspaceSettings` validates its fields with these."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic_core import PydanticCustomError

from bot.i18n import _, format_number
from bot.text import snippet

MAX_FIELD_NAME = 100
MAX_SHARED_CHANNELS = 100
# A profile field's label (printable, no markup) or its id.
PROFILE_FIELD = re.compile(r"^[^<>\x00-\x1f]+$")


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("workspace_setting", "{message}", {"message": message})


def without_overlap(value: Any) -> bool:
    """`on`: groups without shared working hours when nobody else is left; `off`: never."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("on", "yes", "true", "allowed", "allow"):
        return True
    if text in ("off", "no", "false", "never"):
        return False
    raise _refuse(
        _(
            "Grouping people whose working hours don't overlap is `on` (when nobody else "
            "is left for them) or `off` (never)."
        )
    )


def profile_field(value: Any) -> str | None:
    """A Slack profile field named by its label or its id; None when empty."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if not text:
        return None
    if len(text) > MAX_FIELD_NAME or not PROFILE_FIELD.match(text):
        raise _refuse(
            _(
                "`{text}` can't name a profile field: give its label as people's "
                "profiles show it (such as Team, Manager or Office; at most {limit} "
                "characters, no < or >) or its id (Xf…), or leave it empty for none.",
                text=snippet(text),
                limit=format_number(MAX_FIELD_NAME),
            )
        )
    return text


def shared_channels(value: Any) -> int:
    """How many shared channels keep two people apart: 2 to `MAX_SHARED_CHANNELS`, 0 off."""
    text = str(value).strip().lower() if value is not None else "0"
    if text in ("", "off", "none", "no"):
        return 0
    if isinstance(value, bool) or not text.isdecimal() or int(text) > MAX_SHARED_CHANNELS:
        raise _refuse(
            _(
                "Keep apart people who share this many channels allybot is in: a whole number "
                "from 2 to {limit}, or 0 (off) to not look at channels.",
                limit=format_number(MAX_SHARED_CHANNELS),
            )
        )
    if int(text) == 1:
        raise _refuse(
            _(
                "Everyone in the intros channel shares one channel already: give 2 or more, "
                "or 0 (off)."
            )
        )

    return int(text)


# Each setting's parser, by its field name.
PARSERS: dict[str, Callable[[Any], Any]] = {
    "intros_without_overlap": without_overlap,
    "intros_team_field": profile_field,
    "intros_location_field": profile_field,
    "intros_shared_channels": shared_channels,
}
