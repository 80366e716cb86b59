"""What every listener that a person triggers shares."""

from __future__ import annotations

from bot import directory
from bot.inbox import Work, WorkFn
from bot.services import people
from handlers.home import republish_home


def engaging(work_fn: WorkFn) -> WorkFn:
    """Someone who used allybot themselves is someone allybot may nudge: remember them, with
    their Slack profile (time zone), before the handler talks to them about times; then
    republish their Home, which shows what they just changed."""

    async def wrapped(work: Work) -> None:
        await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=[work.user_id])
        async with work.db.session() as session:
            await people.ensure_person(
                session, team_id=work.team_id, user_id=work.user_id, now=work.now()
            )
        await work_fn(work)
        await republish_home(work)  # Home stays current after anything the person does

    return wrapped
