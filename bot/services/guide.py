"""The guide to a direct conversation (`/ally resolve`) and the help for when one is hard.

Its lines live in `bot/guide.yaml` under stable ids, like tips, and are translated as
content (`pgettext(id, text)`), so the guide reads the same way in every language.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, Field

from bot import content
from bot.i18n import pgettext

TITLE, CLOSE, HARD_TITLE = "guide:title", "guide:close", "guide:hard-title"
STEP, HARD = "guide:step-", "guide:hard-"


class Line(BaseModel):
    id: str = Field(pattern=r"^guide:[a-z]+(-[a-z0-9]+)*$")
    text: str = Field(min_length=1, max_length=400)


class GuideFile(BaseModel):
    guide: list[Line]


@cache
def lines() -> dict[str, str]:
    """Every line of the guide in English, by id, in file order."""
    found = GuideFile.model_validate(content.read("guide.yaml")).guide
    by_id = {line.id: line.text for line in found}
    if len(by_id) != len(found):
        raise ValueError("guide line ids must be unique")
    return by_id


def line(line_id: str, **values: str) -> str:
    """One line in the current language."""
    return pgettext(line_id, lines()[line_id], **values)


def _numbered(prefix: str) -> list[str]:
    return [key for key in lines() if key.startswith(prefix) and key[len(prefix) :].isdigit()]


def direct_conversation(person: str, topic: str) -> str:
    """How to talk to someone directly about a difficulty, kindly and early. `person` is
    a Slack mention, `topic` the person's own (already carried) words."""
    steps = [f"{n}. {line(key)}" for n, key in enumerate(_numbered(STEP), 1)]
    return "\n".join([line(TITLE, person=person, topic=topic), *steps, line(CLOSE)])


def when_hard() -> str:
    """Where to turn when a direct conversation is hard."""
    points = [f"• {line(key)}" for key in _numbered(HARD)]
    return "\n".join([line(HARD_TITLE), *points])
