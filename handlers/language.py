"""The language a listener speaks when `engaging` doesn't set it: the one kept for the
person who acted."""

from __future__ import annotations

from collections.abc import Callable

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
        # Usually both were read with the delivery's claim (bot.read_ahead.preload).
        person = work.people.get(user_id) if user_id else None
        workspace = work.workspace
        if workspace is None or (user_id and person is None):
            async with work.db.session() as session:
                workspace = await work.workspace_in(session)
                known = await people.get_people(
                    session, team_id=work.team_id, user_ids=[user_id] if user_id else []
                )
            person = known.get(user_id) if user_id else None
        with i18n.speaking(people.language_of(person, workspace)):
            await work_fn(work)

    return wrapped
