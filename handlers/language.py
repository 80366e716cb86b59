"""The language a listener speaks when `engaging` doesn't set it, and the language a modal
was opened in, for the field errors answered in the ack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_sdk.models.views import View

from bot import i18n
from bot.inbox import Work, WorkFn
from bot.services import people


def event_user(work: Work) -> str | None:
    """Who wrote, reacted or opened something, for an event (they are named in the event)."""
    found = (work.body.get("event") or {}).get("user")
    return str(found) if found else None


def actor(work: Work) -> str | None:
    """Who pressed, typed or submitted something, for a command or an interaction."""
    try:
        return work.user_id
    except (KeyError, TypeError):
        return None


def in_their_language(work_fn: WorkFn, *, who: Callable[[Work], str | None] = actor) -> WorkFn:
    """For a listener that doesn't enrol the person or must not wait on Slack's users.info
    (a shortcut opening a modal before its trigger expires, a kudos given in a channel): the
    language kept for the person who acted, read from the database alone."""

    async def wrapped(work: Work) -> None:
        user_id = who(work)
        async with work.db.session() as session:
            workspace = await work.workspace_in(session)
            known = await people.get_people(
                session, team_id=work.team_id, user_ids=[user_id] if user_id else []
            )
        person = known.get(user_id) if user_id else None
        with i18n.speaking(people.language_of(person, workspace)):
            await work_fn(work)

    return wrapped


LANG_KEY = "lang"


def remembering_language(view: View) -> View:
    """The modal keeps the language it was opened in (in its private metadata), so the field
    errors answered in the ack, before anyone is looked up, are in that language too."""
    try:
        meta = json.loads(view.private_metadata or "{}")
    except ValueError:
        return view  # someone else's format: the errors stay in the default language
    if isinstance(meta, dict):
        meta[LANG_KEY] = i18n.language()
        view.private_metadata = json.dumps(meta)
    return view


def modal_language(body: dict[str, Any]) -> str | None:
    """The language a submitted modal was opened in (see `remembering_language`)."""
    try:
        meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return None
    found = meta.get(LANG_KEY) if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def checked_in_language(
    check: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """A modal's ack-time check, speaking the language the modal was opened in."""

    def wrapped(body: dict[str, Any]) -> dict[str, Any] | None:
        with i18n.speaking(modal_language(body)):
            return check(body)

    return wrapped
