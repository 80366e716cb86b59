"""Conversation starters for intros, from `bot/starters.yaml`, in rotation order; each is
content under a stable id, translated when shown."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel

from bot import content
from bot.i18n import pgettext


class Starter(BaseModel):
    id: str
    text: str


class StarterLibrary(BaseModel):
    starters: list[Starter]


@cache
def starters() -> list[Starter]:
    """The conversation starters, in file order (the rotation order)."""
    return StarterLibrary.model_validate(content.read("starters.yaml")).starters


def starter_text(starter_id: str) -> str:
    """A starter in the current language, by its id (the rotation keeps ids, so a change of
    language never repeats or skips one); the first one if the id was retired."""
    found = next((s for s in starters() if s.id == starter_id), starters()[0])
    return pgettext(found.id, found.text)
