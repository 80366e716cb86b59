"""What every listener that a person triggers shares."""

from __future__ import annotations

from bot import directory, i18n
from bot.blocks.kudos import build_notice_blocks
from bot.blocks.nudges import replace_block
from bot.inbox import Work, WorkFn
from bot.services import people
from handlers.home import republish_home


def engaging(work_fn: WorkFn) -> WorkFn:
    """Someone who used allybot themselves is someone allybot may nudge: remember them, with
    their Slack profile (time zone), before the handler talks to them about times; then
    republish their Home, which shows what they just changed."""

    async def wrapped(work: Work) -> None:
        # Usually both were read with the delivery's claim (bot.read_ahead.preload), the person
        # only when their cached profile is fresh; else one transaction reads them here.
        person = work.people.get(work.user_id)
        if work.workspace is None or person is None:
            async with work.db.session() as session:
                await work.workspace_in(session)
                unread = [u for u in [work.user_id] if u not in work.looked_up]
                known = await people.get_people(session, team_id=work.team_id, user_ids=unread)
            found = await directory.complete(
                work.db,
                work.client,
                team_id=work.team_id,
                user_ids=[work.user_id],
                known=known,
                now=work.now(),
                engaged=work.user_id,
                stored=work.stored,
            )
            work.people.update(found)
            person = found.get(work.user_id)
        if person is None or person.engaged_at is None:  # else marking them changes nothing
            async with work.db.session() as session:
                await people.ensure_person(
                    session,
                    team_id=work.team_id,
                    user_id=work.user_id,
                    now=work.now(),
                    workspace_known=work.workspace is not None,
                )
        # Whatever the handler says to this person is in their language; what it says to
        # others (DMs, channel posts) is rendered under `speaking(...)` for those readers.
        with i18n.speaking(people.language_of(person, work.workspace)):
            await work_fn(work)
            await republish_home(work)  # Home stays current after anything the person does

    return wrapped


async def answer_in_place(work: Work, note: str) -> None:
    """Swap the pressed item's buttons for a short note, in the message itself. On Home
    there is nothing to answer: the Home is republished."""
    if (work.body.get("container") or {}).get("type") == "view":
        return
    action = work.body["actions"][0]
    message = work.body.get("message") or {}
    container = work.body.get("container") or {}
    if (
        container.get("type") == "message"
        and message.get("blocks")
        and not container.get("is_ephemeral")
    ):
        await work.client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=message.get("text") or "allybot",
            blocks=replace_block(message["blocks"], action.get("block_id", ""), note),
        )
    else:
        await work.respond(note, blocks=build_notice_blocks(note), replace_original=True)
