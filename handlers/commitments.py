"""/commit, its buttons, the commitment modal and the "Track as commitment" shortcut."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import directory
from bot import text as texts
from bot.blocks.commitments import (
    build_commit_modal,
    build_confirmation_blocks,
    build_delivered_blocks,
    build_drop_question_blocks,
    build_list_blocks,
    build_party_blocks,
    people,
    summary,
    when_text,
)
from bot.blocks.kudos import build_notice_blocks
from bot.blocks.nudges import replace_block
from bot.dm import send_dm
from bot.ids import Action, Callback, Command
from bot.inbox import Inbox, Work
from bot.models import Commitment, Person
from bot.services import commitments, kudos, preferences
from bot.services.commitments import CommitRejected, NotYours
from bot.services.kudos import KudosRejected, ParsedKudos
from bot.services.when import WhenError, parse_when
from bot.text import Source
from handlers.common import engaging
from handlers.keys import action_key, command_key, shortcut_key, view_key
from handlers.kudos import give_and_announce, tell_privately

OVERDUE_NOTE = "If the date no longer works, agree a new one early: it keeps trust."


async def _owner(work: Work) -> Person:
    found = await directory.lookup(
        work.db, work.client, team_id=work.team_id, user_ids=[work.user_id]
    )
    if work.user_id not in found:
        raise CommitRejected("I couldn't look up your Slack profile; please try again.")
    return found[work.user_id]


async def _parties(work: Work, owner: Person, user_ids: Sequence[str]) -> list[str]:
    found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=user_ids)
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        raise CommitRejected(f"I couldn't find <@{missing[0]}> in this workspace.")
    commitments.check_parties(owner.user_id, [found[uid] for uid in user_ids])
    return list(user_ids)


# -- /commit -----------------------------------------------------------------------------


async def handle_commit_command(work: Work) -> None:
    """`/commit <what> [to @bob] [by <when>]`, `/commit list|done N|drop N|help`."""
    text = str(work.body.get("text") or "").strip()
    sub, _, rest = text.partition(" ")
    try:
        match sub.lower():
            case "" | "help" | "?":
                await tell_privately(work, commitments.usage())
            case "list":
                await _list(work)
            case "done":
                await _done_by_number(work, rest)
            case "drop":
                await _drop_by_number(work, rest)
            case _:
                await _create(work, text)
    except (CommitRejected, WhenError) as exc:
        await tell_privately(work, str(exc))


async def _create(work: Work, text: str) -> None:
    draft = commitments.parse_commit_text(text)
    owner = await _owner(work)
    parties = await _parties(work, owner, draft.parties)
    async with work.db.session() as session:
        _, window_end = await preferences.window_of(session, owner)
    due_at = (
        parse_when(draft.when, tz=owner.tz, now=work.now(), window_end=window_end)
        if draft.when
        else None
    )
    async with work.db.session() as session:
        commitment = await commitments.create(
            session,
            team_id=work.team_id,
            owner=owner,
            what=draft.what,
            parties=parties,
            due_at=due_at,
            source_key=command_key(work.body),
            now=work.now(),
        )
    await work.respond(
        f"You committed to {summary(commitment, parties, owner.tz)}.",
        blocks=build_confirmation_blocks(commitment, parties, owner.tz),
    )


async def _list(work: Work) -> None:
    owner = await _owner(work)
    async with work.db.session() as session:
        items = await commitments.open_list(session, team_id=work.team_id, owner_id=owner.user_id)
        record = await commitments.follow_through(
            session,
            team_id=work.team_id,
            user_id=owner.user_id,
            start=work.now() - commitments.FOLLOW_THROUGH_WINDOW,
            end=work.now(),
        )
        lines = []
        for n, c in enumerate(items, 1):
            parties = [p.user_id for p in await commitments.parties_of(session, commitment_id=c.id)]
            late = " :hourglass: overdue" if c.due_at and c.due_at < work.now() else ""
            lines.append(f"{n}. {summary(c, parties, owner.tz)}{late}")
    if not lines:
        text = "No open commitments. `/commit <what> to @bob by Friday` records one."
    else:
        text = "*Your open commitments* (times are yours):\n" + "\n".join(lines)
        text += "\n`/commit done N` when one is kept, `/commit drop N` when it no longer stands."
    if record.closed:
        text += f"\nFollow-through, last 90 days: {record.kept} of {record.closed} kept on time."
    await work.respond(text, blocks=build_list_blocks(text))


async def _done_by_number(work: Work, number: str) -> None:
    async with work.db.session() as session:
        commitment = await commitments.by_number(
            session, team_id=work.team_id, owner_id=work.user_id, number=number
        )
    await _mark_done(work, commitment.id)
    await tell_privately(work, f"Done: *{commitment.text}*. Nicely kept.")


async def _drop_by_number(work: Work, number: str) -> None:
    async with work.db.session() as session:
        commitment = await commitments.by_number(
            session, team_id=work.team_id, owner_id=work.user_id, number=number
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    if parties:
        await work.respond(
            f"Drop {commitment.text}?", blocks=build_drop_question_blocks(commitment, parties)
        )
        return
    await _close(work, commitment.id, "dropped")
    await tell_privately(work, f"Dropped: *{commitment.text}*.")


# -- closing and telling the parties -----------------------------------------------------


async def _close(work: Work, commitment_id: int, status: str) -> tuple[Commitment, list[str], bool]:
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=commitment_id, team_id=work.team_id, user_id=work.user_id
        )
        changed = await commitments.close(
            session, commitment=commitment, status=status, now=work.now()
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    return commitment, parties, changed


async def _mark_done(work: Work, commitment_id: int) -> Commitment:
    commitment, parties, changed = await _close(work, commitment_id, "done")
    if changed:
        for party in parties:
            await send_dm(
                work.client,
                user_id=party,
                text=f"<@{commitment.owner_id}> delivered: {commitment.text}",
                blocks=build_delivered_blocks(commitment),
            )
    return commitment


async def tell_parties(
    work: Work, commitment: Commitment, user_ids: Sequence[str], *, updated: bool = False
) -> None:
    """DM each party, with times in their own zone."""
    found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=user_ids)
    for uid in user_ids:
        tz = found[uid].tz if uid in found else "UTC"
        blocks = build_party_blocks(commitment, tz)
        verb = "updated a promise" if updated else "committed"
        await send_dm(
            work.client,
            user_id=uid,
            text=f"<@{commitment.owner_id}> {verb}: {commitment.text}, "
            f"by {when_text(commitment.due_at, tz)} your time",
            blocks=blocks,
        )


# -- buttons ------------------------------------------------------------------------------


def _value(work: Work) -> int:
    return int(work.body["actions"][0]["value"])


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


async def handle_commit_button(work: Work) -> None:
    """Every button on a commitment: confirm, edit, cancel, done, snooze, new date, drop."""
    action = work.body["actions"][0]["action_id"]
    try:
        await BUTTONS[action](work)
    except NotYours:
        await tell_privately(work, "That button belongs to someone else's commitment.")


async def _confirm(work: Work) -> None:
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=_value(work), team_id=work.team_id, user_id=work.user_id
        )
        untold = [
            p.user_id
            for p in await commitments.mark_shared(session, commitment=commitment, now=work.now())
        ]
    if untold:
        await tell_parties(work, commitment, untold)
    told = f" I've let {people(untold)} know." if untold else ""
    await answer_in_place(
        work,
        f":white_check_mark: Tracking *{commitment.text}*.{told} "
        "I'll remind you on the morning it's due.",
    )


async def _cancel(work: Work) -> None:
    commitment, _, _ = await _close(work, _value(work), "cancelled")
    await answer_in_place(work, f"Cancelled: *{commitment.text}* is not tracked.")


async def _open_editor(work: Work) -> None:
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=_value(work), team_id=work.team_id, user_id=work.user_id
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    await work.client.views_open(
        trigger_id=work.body["trigger_id"],
        view=build_commit_modal(
            what=texts.plain(commitment.text)[: commitments.MAX_TEXT],
            due_at=commitment.due_at,
            parties=parties,
            metadata={
                "commitment_id": commitment.id,
                "response_url": work.body.get("response_url"),
                "from": work.body["actions"][0]["action_id"],
            },
            offer_tell=bool(parties) and commitment.shared_at is not None,
        ),
    )


async def _done(work: Work) -> None:
    commitment = await _mark_done(work, _value(work))
    await answer_in_place(work, f":white_check_mark: Done: *{commitment.text}*. Nicely kept.")


async def _snooze(work: Work, days: int) -> None:
    owner = await _owner(work)
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=_value(work), team_id=work.team_id, user_id=work.user_id
        )
        until = await commitments.snooze(
            session, commitment=commitment, days=days, owner_tz=owner.tz, now=work.now()
        )
    await answer_in_place(work, f":zzz: Snoozed: I'll remind you again on {until:%a %-d %b}.")


async def _snooze_day(work: Work) -> None:
    await _snooze(work, 1)


async def _snooze_week(work: Work) -> None:
    await _snooze(work, 7)


async def _ask_drop(work: Work) -> None:
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=_value(work), team_id=work.team_id, user_id=work.user_id
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    if not parties:
        await _close(work, commitment.id, "dropped")
        await answer_in_place(work, f"Dropped: *{commitment.text}*.")
        return
    await work.respond(
        f"Drop {commitment.text}?", blocks=build_drop_question_blocks(commitment, parties)
    )


async def _drop(work: Work, *, tell: bool) -> None:
    commitment, parties, changed = await _close(work, _value(work), "dropped")
    if changed and tell:
        for party in parties:
            await send_dm(
                work.client,
                user_id=party,
                text=f"<@{commitment.owner_id}> can't keep a promise after all: {commitment.text}",
                blocks=build_notice_blocks(
                    f"<@{commitment.owner_id}> let you know they can't deliver "
                    f"*{commitment.text}* after all. A quick chat may help you both plan around it."
                ),
            )
    told = f" I've told {people(parties)}." if tell and parties else ""
    await work.respond(f"Dropped: {commitment.text}.{told}", replace_original=True)


async def _drop_tell(work: Work) -> None:
    await _drop(work, tell=True)


async def _drop_quiet(work: Work) -> None:
    await _drop(work, tell=False)


async def _keep(work: Work) -> None:
    await work.respond("Kept: it stays on your list.", replace_original=True)


async def _party_answer(work: Work, answer: str) -> None:
    async with work.db.session() as session:
        commitment = await commitments.respond(
            session,
            commitment_id=_value(work),
            team_id=work.team_id,
            user_id=work.user_id,
            answer=answer,
            now=work.now(),
        )
    if answer == commitments.GOT_IT:
        await answer_in_place(work, ":thumbsup: Thanks, noted.")
        return
    owner_tz = (
        await directory.lookup(
            work.db, work.client, team_id=work.team_id, user_ids=[commitment.owner_id]
        )
    ).get(commitment.owner_id)
    tz = owner_tz.tz if owner_tz else "UTC"
    await send_dm(
        work.client,
        user_id=commitment.owner_id,
        text=f"<@{work.user_id}> says that's not what you agreed: {commitment.text}",
        blocks=[
            *build_notice_blocks(
                f"<@{work.user_id}> says *{commitment.text}* by {when_text(commitment.due_at, tz)} "
                "isn't what you agreed. A quick word with them, then *Edit* to match."
            ),
            *build_confirmation_blocks(commitment, [], tz)[1:],
        ],
    )
    await answer_in_place(
        work, f"Thanks: I've let <@{commitment.owner_id}> know, so you two can sort it out."
    )


async def _got_it(work: Work) -> None:
    await _party_answer(work, commitments.GOT_IT)


async def _disputed(work: Work) -> None:
    await _party_answer(work, commitments.DISPUTED)


async def _give_kudos(work: Work) -> None:
    """One click from a party: a kudos from them to the person who kept the promise."""
    async with work.db.session() as session:
        commitment = await session.get(Commitment, _value(work))
        parties = (
            [p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)]
            if commitment
            else []
        )
    if commitment is None or work.user_id not in parties:
        raise NotYours(_value(work))
    try:
        await give_and_announce(
            work,
            giver_id=work.user_id,
            parsed=ParsedKudos(
                receivers=(commitment.owner_id,),
                reason=f"kept their promise: {commitment.text}",
                tags=("reliable",),
            ),
            channel_id=None,
            source="commitment",
            source_key=f"commitment:{commitment.id}:{work.user_id}",
        )
    except KudosRejected as exc:
        await tell_privately(work, str(exc))
        return
    await answer_in_place(work, f":raised_hands: Kudos sent to <@{commitment.owner_id}>.")


BUTTONS = {
    Action.COMMIT_CONFIRM: _confirm,
    Action.COMMIT_EDIT: _open_editor,
    Action.COMMIT_CANCEL: _cancel,
    Action.COMMIT_DONE: _done,
    Action.COMMIT_SNOOZE_DAY: _snooze_day,
    Action.COMMIT_SNOOZE_WEEK: _snooze_week,
    Action.COMMIT_NEW_DATE: _open_editor,
    Action.COMMIT_DROP: _ask_drop,
    Action.COMMIT_DROP_TELL: _drop_tell,
    Action.COMMIT_DROP_QUIET: _drop_quiet,
    Action.COMMIT_KEEP: _keep,
    Action.COMMIT_GOT_IT: _got_it,
    Action.COMMIT_DISPUTED: _disputed,
    Action.COMMIT_GIVE_KUDOS: _give_kudos,
}


# -- the modal ----------------------------------------------------------------------------


def _modal_values(body: dict[str, Any]) -> dict[str, Any]:
    values = body["view"]["state"]["values"]

    def pick(block: str, key: str) -> Any:
        return (values.get(block) or {}).get(block, {}).get(key)

    return {
        "what": (pick("what", "value") or "").strip(),
        "due": pick("due", "selected_date_time"),
        "parties": pick("parties", "selected_users") or [],
        "tell": bool(pick("tell", "selected_options")),
    }


def check_commit_modal(body: dict[str, Any]) -> dict[str, Any] | None:
    """Field errors shown in the modal itself, before anything is saved."""
    v = _modal_values(body)
    errors: dict[str, str] = {}
    if not v["what"]:
        errors["what"] = "Say what you promised."
    elif len(v["what"]) > commitments.MAX_TEXT:
        errors["what"] = f"Keep it under {commitments.MAX_TEXT} characters."
    else:
        try:
            commitments.carry(v["what"], source=Source.INPUT, parties=v["parties"])
        except CommitRejected as exc:
            errors["what"] = str(exc)
    if not v["due"]:
        errors["due"] = "Pick a date and a time."
    elif datetime.fromtimestamp(int(v["due"]), UTC) <= datetime.now(UTC):
        errors["due"] = "That time has already passed; pick one in the future."
    if body["user"]["id"] in v["parties"]:
        errors["parties"] = "The promise is already yours: name the people you made it to."
    return {"response_action": "errors", "errors": errors} if errors else None


async def handle_commit_modal(work: Work) -> None:
    """Save a commitment from the modal: a new one (shortcut) or an edit (Edit, New date)."""
    v = _modal_values(work.body)
    meta = json.loads(work.body["view"].get("private_metadata") or "{}")
    work.body.setdefault("response_url", meta.get("response_url"))
    due_at = datetime.fromtimestamp(int(v["due"]), UTC)
    try:
        owner = await _owner(work)
        parties = await _parties(work, owner, v["parties"])
        v["what"] = commitments.carry(v["what"], source=Source.INPUT, parties=parties)
    except CommitRejected as exc:
        await send_dm(
            work.client, user_id=work.user_id, text=str(exc), blocks=build_notice_blocks(str(exc))
        )
        return
    async with work.db.session() as session:
        if meta.get("commitment_id"):
            commitment = await commitments.owned(
                session,
                commitment_id=int(meta["commitment_id"]),
                team_id=work.team_id,
                user_id=work.user_id,
            )
            was_shared = commitment.shared_at is not None
            before = {
                p.user_id
                for p in await commitments.parties_of(session, commitment_id=commitment.id)
            }
            await commitments.reschedule(
                session, commitment=commitment, owner_tz=owner.tz, due_at=due_at, what=v["what"]
            )
            await commitments.set_parties(session, commitment=commitment, parties=parties)
        else:
            commitment = await commitments.create(
                session,
                team_id=work.team_id,
                owner=owner,
                what=v["what"],
                parties=parties,
                due_at=due_at,
                source_key=view_key(work.body),
                now=work.now(),
            )
            was_shared, before = False, set()
        untold = [
            p.user_id
            for p in await commitments.mark_shared(session, commitment=commitment, now=work.now())
        ]
    updated = [p for p in parties if p in before] if (was_shared and v["tell"]) else []
    if untold:
        await tell_parties(work, commitment, untold)
    if updated:
        await tell_parties(work, commitment, updated, updated=True)
    told = untold + updated
    note = f":white_check_mark: Tracking {summary(commitment, parties, owner.tz)}." + (
        f" I've let {people(told)} know." if told else ""
    )
    replace = meta.get("from") == Action.COMMIT_EDIT
    if not await work.respond(note, blocks=build_notice_blocks(note), replace_original=replace):
        await send_dm(
            work.client, user_id=work.user_id, text=note, blocks=build_notice_blocks(note)
        )


async def handle_track_shortcut(work: Work) -> None:
    """ "Track as commitment" on a message: the modal, prefilled from it."""
    message = work.body.get("message") or {}
    text = str(message.get("text") or "")
    mentioned = kudos.USER_MENTION.findall(text)
    author = message.get("user")
    parties = [
        u for u in dict.fromkeys([*(a for a in [author] if a), *mentioned]) if u != work.user_id
    ]
    await work.client.views_open(
        trigger_id=work.body["trigger_id"],
        view=build_commit_modal(
            what=texts.readable(texts.clean(kudos.USER_MENTION.sub(" ", text)))[
                : commitments.MAX_TEXT
            ].strip(),
            due_at=None,
            parties=parties[: commitments.MAX_PARTIES],
            metadata={"response_url": work.body.get("response_url"), "from": "shortcut"},
            offer_tell=False,
        ),
    )


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.command(Command.COMMIT)(
        inbox.listener("commit_command", command_key, engaging(handle_commit_command))
    )
    button = inbox.listener("commit_button", action_key, engaging(handle_commit_button))
    for action in BUTTONS:
        app.action(action)(button)
    app.view(Callback.COMMIT_MODAL)(
        inbox.listener(
            "commit_modal", view_key, engaging(handle_commit_modal), check=check_commit_modal
        )
    )
    app.shortcut(Callback.TRACK_AS_COMMITMENT)(
        inbox.listener("track_shortcut", shortcut_key, handle_track_shortcut)
    )
