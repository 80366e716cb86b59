"""People a text names without mentioning them, shown by name on the way to Slack.

What people write is stored as safe markup (bot/text.py), where someone mentioned whom the
surface does not mean (not a kudos' receiver, not a promise's party) is kept as `<~U…>`:
their id, so erasing them rewrites it as it rewrites a mention, and never a ping. Only what
leaves for Slack (bot/slack.py: every Web API call and every response_url answer) turns it
into the name allybot holds for them now, as plain text: `@Ann`, or `@someone`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import text as texts
from bot.db import Database
from bot.i18n import _
from bot.services import people

# The names allybot holds for some people of a workspace: (team id, user ids) -> names.
NameSource = Callable[[str, Collection[str]], Awaitable[Mapping[str, str]]]
# Slack's own limit on a display name; a longer stored one is cut.
MAX_NAME = 80


def ids_in(value: Any) -> set[str]:
    """The ids named (`<~U…>`) anywhere in a Web API call's arguments."""
    return {uid for text in _strings(value) for uid in texts.NAMED.findall(text)}


def _strings(value: Any) -> Iterator[str]:
    """Every string in the arguments that may hold a `<~U…>`: looked at without copying
    anything, as nearly every call has none."""
    if isinstance(value, str):
        if "<~" in value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif hasattr(value, "to_dict"):  # slack_sdk's blocks and views
        yield from _strings(value.to_dict())


def shown(value: Any, names: Mapping[str, str]) -> Any:
    """The arguments with every `<~U…>` as the person's name in plain text: never a mention,
    a link or markup of any kind, whatever the name holds."""
    return _walk(value, lambda s: texts.NAMED.sub(lambda m: _name(names.get(m.group(1))), s))


def nobody() -> str:
    """How a message names someone allybot holds no name for, as safe markup."""
    # Translators: stands for a person allybot has no name for, in a message.
    return texts.escape("@" + _("someone"))


def _name(name: str | None) -> str:
    words = " ".join(texts.clean(name or "").split())[:MAX_NAME].strip()
    shown = texts.escape("@" + words.lstrip("@")) if words.lstrip("@") else nobody()
    if len(shown) <= texts.NAME_SHOWN:
        return shown
    # Escaped it grew (`&` is `&amp;`): cut to what a cut to Slack's limits counted it as,
    # at a whole entity.
    out = ""
    for piece in re.findall(r"&(?:amp|lt|gt);|[^&]", shown):
        if len(out) + len(piece) > texts.NAME_SHOWN:
            break
        out += piece
    return out


# The arguments slack_sdk sends as JSON text (a form-encoded call): only there, at the top
# of a call's arguments, is a string decoded to reach the texts inside. Any other string is
# what someone wrote, even one that reads as JSON: decoded and encoded anew it would change
# (spaces, accents, and escapes such as a written `\u003c!here\u003e`, then markup).
_ENCODED = frozenset({"blocks", "user_auth_blocks", "attachments", "view", "message"})
_NONE: frozenset[str] = frozenset()


def _walk(value: Any, fix: Callable[[str], str], encoded: frozenset[str] = _ENCODED) -> Any:
    """`value` with `fix` applied to every string holding a `<~U…>`; `encoded`: the keys
    of its top level whose strings are JSON to look into."""
    if isinstance(value, str):
        return fix(value) if "<~" in value else value
    if isinstance(value, dict):
        return {
            k: _decoded(v, fix) if k in encoded and isinstance(v, str) else _walk(v, fix, _NONE)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_walk(v, fix, _NONE) for v in value]
    if hasattr(value, "to_dict"):  # slack_sdk's blocks and views
        return _walk(value.to_dict(), fix, encoded)
    return value


def _decoded(value: str, fix: Callable[[str], str]) -> str:
    """An argument slack_sdk encoded as JSON (a view, blocks), its texts fixed inside."""
    if "<~" not in value:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return fix(value)
    if not isinstance(decoded, dict | list):
        return fix(value)
    return json.dumps(_walk(decoded, fix, _NONE))


async def show(value: Any, *, team_id: str | None, source: NameSource | None) -> Any:
    """`shown`, with the names read for the people named (none read when nobody is)."""
    ids = ids_in(value)
    if not ids:
        return value
    names = await source(team_id, ids) if source is not None and team_id else {}
    return shown(value, names)


def as_ids(value: Any) -> Any:
    """The value with every `<~U…>` as `<@U…>`: Slack's own form of an id, for a file that
    names other people only by id (an export)."""
    return _walk(value, lambda s: texts.NAMED.sub(r"<@\1>", s), _NONE)


async def names_in(
    session: AsyncSession, *, team_id: str, user_ids: Collection[str]
) -> dict[str, str]:
    """Names as allybot last read them from Slack (people.name); an erased person has none."""
    found = await people.get_people(session, team_id=team_id, user_ids=user_ids)
    return {uid: p.name for uid, p in found.items() if p.name}


async def shown_in(session: AsyncSession, value: Any, *, team_id: str) -> Any:
    """`shown`, for what leaves allybot other than through Slack (an export, a preview)."""
    ids = ids_in(value)
    if not ids:
        return value
    return shown(value, await names_in(session, team_id=team_id, user_ids=ids))


def from_database(db: Database) -> NameSource:
    """`names_in`, each read in a session of its own."""

    async def names(team_id: str, user_ids: Collection[str]) -> Mapping[str, str]:
        async with db.session() as session:
            return await names_in(session, team_id=team_id, user_ids=user_ids)

    return names
