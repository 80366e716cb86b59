"""The buttons on a promise: confirm, edit, cancel, done, snooze, drop (the owner's), and
Got it, Not what we agreed, Give kudos (the people it was made to)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import directory, i18n
from bot import text as texts
from bot.blocks import words
from bot.blocks.commitments import (
    build_commit_modal,
    build_confirmation_blocks,
    build_disputed_blocks,
    build_drop_question_blocks,
    build_dropped_blocks,
    people,
)
from bot.i18n import _
from bot.ids import Action
from bot.inbox import Inbox, Work
from bot.models import Commitment
from bot.services import commitments
from bot.services.commitments import NotYours
from bot.services.kudos import KudosRejected, ParsedKudos
from handlers.commitments import close, mark_done, owner_of, tell_closed, tell_parties
from handlers.common import answer_in_place, engaging
from handlers.keys import action_key
from handlers.kudos import give_and_announce, tell_privately
from handlers.relay import relay_dm, tell_if_over


def _value(work: Work) -> int:
    return int(work.body["actions"][0]["value"])


async def handle_commit_button(work: Work) -> None:
    """Every button on a commitment: confirm, edit, cancel, done, snooze, new date, drop."""
    action = work.body["actions"][0]["action_id"]
    try:
        await BUTTONS[action](work)
    except NotYours:
        await tell_privately(work, _("That button belongs to someone else's commitment."))


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
    if untold:
        note = _(
            ":white_check_mark: Tracking *{what}*. I've let {people} know. "
            "I'll remind you on the morning it's due.",
            what=words(commitment.text),
            people=people(untold),
        )
    else:
        note = _(
            ":white_check_mark: Tracking *{what}*. I'll remind you on the morning it's due.",
            what=words(commitment.text),
        )
    await answer_in_place(work, note)


async def _cancel(work: Work) -> None:
    commitment, __, ___ = await close(work, _value(work), "cancelled")
    await answer_in_place(
        work, _("Cancelled: *{what}* is not tracked.", what=words(commitment.text))
    )


async def _open_editor(work: Work) -> None:
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=_value(work), team_id=work.team_id, user_id=work.user_id
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    view = build_commit_modal(
        what=texts.plain(commitment.text)[: commitments.MAX_TEXT],
        due_at=commitment.due_at,
        parties=parties,
        metadata={
            "commitment_id": commitment.id,
            "response_url": work.body.get("response_url"),
            "from": work.body["actions"][0]["action_id"],
        },
        offer_tell=bool(parties) and commitment.shared_at is not None,
    )
    await work.client.views_open(trigger_id=work.body["trigger_id"], view=view)


async def _done(work: Work) -> None:
    commitment = await mark_done(work, _value(work))
    await answer_in_place(
        work, _(":white_check_mark: Done: *{what}*. Nicely kept.", what=words(commitment.text))
    )


async def _snooze(work: Work, days: int) -> None:
    owner = await owner_of(work)
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=_value(work), team_id=work.team_id, user_id=work.user_id
        )
        until = await commitments.snooze(
            session, commitment=commitment, days=days, owner_tz=owner.tz, now=work.now()
        )
    await answer_in_place(
        work,
        _(
            ":zzz: Snoozed: I'll remind you again on {day}.",
            day=i18n.format_skeleton(until, "MMMEd"),
        ),
    )


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
        await close(work, commitment.id, "dropped")
        await answer_in_place(work, _("Dropped: *{what}*.", what=words(commitment.text)))
        return
    await work.respond(
        _("Drop {what}?", what=words(commitment.text)),
        blocks=build_drop_question_blocks(commitment, parties),
    )


async def _drop(work: Work, *, tell: bool) -> None:
    commitment, parties, changed = await close(work, _value(work), "dropped")
    if changed and tell:
        await tell_closed(
            work,
            commitment,
            parties,
            kind="commitment_drop",
            key=f"dropped:c{commitment.id}",
            text=lambda: _(
                "<@{owner}> can't keep a promise after all: {what}",
                owner=commitment.owner_id,
                what=words(commitment.text),
            ),
            blocks=lambda: build_dropped_blocks(commitment),
        )
    if tell and parties:
        note = _(
            "Dropped: {what}. I've told {people}.",
            what=words(commitment.text),
            people=people(parties),
        )
    else:
        note = _("Dropped: {what}.", what=words(commitment.text))
    await work.respond(note, replace_original=True)


async def _drop_tell(work: Work) -> None:
    await _drop(work, tell=True)


async def _drop_quiet(work: Work) -> None:
    await _drop(work, tell=False)


async def _keep(work: Work) -> None:
    await work.respond(_("Kept: it stays on your list."), replace_original=True)


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
        await answer_in_place(work, _(":thumbsup: Thanks, noted."))
        return
    owner_tz = (
        await directory.lookup(
            work.db, work.client, team_id=work.team_id, user_ids=[commitment.owner_id]
        )
    ).get(commitment.owner_id)
    tz = owner_tz.tz if owner_tz else "UTC"
    admission = await relay_dm(
        work,
        sender_id=work.user_id,
        recipient_id=commitment.owner_id,
        kind="commitment_disputed",
        key=f"disputed:c{commitment.id}",
        ref={"commitment": commitment.id},
        text=lambda: _(
            "<@{party}> says that's not what you agreed: {what}",
            party=work.user_id,
            what=words(commitment.text),
        ),
        blocks=lambda: [
            *build_disputed_blocks(commitment, party_id=work.user_id, tz=tz),
            *build_confirmation_blocks(commitment, [], tz)[1:],
        ],
    )
    await tell_if_over(work, sender_id=work.user_id, admissions={commitment.owner_id: admission})
    await answer_in_place(
        work,
        _(
            "Thanks: I've let <@{owner}> know, so you two can sort it out.",
            owner=commitment.owner_id,
        ),
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
    # Kept with the kudos and shown to everyone who sees it: the workspace's language.
    with i18n.speaking(work.workspace.language if work.workspace else None):
        # Translators: the reason of a kudos given with one click to someone who kept a
        # promise; shown after "Kudos to … from …"
        reason = _("kept their promise: {what}", what=words(commitment.text))
    try:
        await give_and_announce(
            work,
            giver_id=work.user_id,
            parsed=ParsedKudos(
                receivers=(commitment.owner_id,),
                reason=reason,
                tags=("reliable",),
            ),
            channel_id=None,
            source="commitment",
            source_key=f"commitment:{commitment.id}:{work.user_id}",
        )
    except KudosRejected as exc:
        await tell_privately(work, str(exc))
        return
    await answer_in_place(
        work, _(":raised_hands: Kudos sent to <@{owner}>.", owner=commitment.owner_id)
    )


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


def register(app: AsyncApp, inbox: Inbox) -> None:
    button = inbox.listener("commit_button", action_key, engaging(handle_commit_button))
    for action in BUTTONS:
        app.action(action)(button)
