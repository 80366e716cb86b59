"""`/ally export` and `/ally forget-me`: a person's data as a file in their DM, and erasing it
after they confirm."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.kudos import build_notice_blocks
from bot.blocks.privacy import (
    build_erased_home_view,
    build_forget_me_blocks,
    build_outcome_blocks,
    erased_text,
    export_comment,
    export_filename,
    export_reply_text,
    forget_me_text,
    kept_text,
    not_yours_text,
)
from bot.i18n import _
from bot.ids import Action
from bot.inbox import Inbox, Work, WorkFn
from bot.services import privacy
from handlers.common import engaging
from handlers.dm import send_dm
from handlers.kudos import tell_privately
from handlers.language import in_their_language


async def privacy_export(work: Work, rest: str) -> None:
    """Everything allybot holds about the person, as a JSON file in their DM with allybot."""
    now = work.now()
    async with work.db.session() as session:
        data = await privacy.export(session, team_id=work.team_id, user_id=work.user_id, now=now)
    empty = privacy.is_empty(data)
    await tell_privately(work, export_reply_text(empty=empty))
    opened = await work.client.conversations_open(users=work.user_id)
    await work.client.files_upload_v2(
        channel=opened["channel"]["id"],
        filename=export_filename(work.team_id, work.user_id, now.date()),
        title=_("Your allybot data"),
        content=json.dumps(data, indent=2, ensure_ascii=False),
        initial_comment=export_comment(empty=empty),
    )


async def privacy_forget_me(work: Work, rest: str) -> None:
    """Say exactly what erasing would do, and ask; nothing changes until they confirm."""
    async with work.db.session() as session:
        held = await privacy.holdings(session, team_id=work.team_id, user_id=work.user_id)
    # The same command retried by Slack asks the same question with the same buttons.
    nonce = hashlib.sha256(str(work.body.get("trigger_id", "")).encode()).hexdigest()[:12]
    await work.respond(
        forget_me_text(held),
        blocks=build_forget_me_blocks(user_id=work.user_id, nonce=nonce, held=held),
    )


PRIVACY_FEATURES: dict[str, Callable[[Work, str], Awaitable[None]]] = {
    "export": privacy_export,
    "forget-me": privacy_forget_me,
}


def is_privacy_command(body: dict[str, Any]) -> bool:
    words = str(body.get("text") or "").split(maxsplit=1)
    return bool(words) and words[0].lower() in PRIVACY_FEATURES


def engaging_unless_private(work_fn: WorkFn) -> WorkFn:
    """`/ally …` enrols whoever uses it for nudges, except the privacy commands: asking for
    your data, or for it to be erased, must not store your profile or sign you up again
    (they are still answered in the language kept for them)."""
    engaged = engaging(work_fn)
    unenrolled = in_their_language(work_fn)

    async def wrapped(work: Work) -> None:
        await (unenrolled if is_privacy_command(work.body) else engaged)(work)

    return wrapped


# -- buttons ------------------------------------------------------------------------------


def confirmation_key(body: dict[str, Any]) -> str:
    """One answer per person per question: a double click, a retry, or a press on another
    copy of the same question is the same answer, so the data is erased once."""
    action = body["actions"][0]
    answer = f"{body['user']['id']}:{action['action_id']}:{action.get('value')}"
    return "privacy:" + hashlib.sha256(answer.encode()).hexdigest()  # no id in the log


async def handle_privacy_button(work: Work) -> None:
    """*Erase my data* / *Keep it*: only the person the question was for may answer it."""
    action = work.body["actions"][0]
    owner = str(action.get("value") or "").partition(":")[0]
    if owner != work.user_id:
        await tell_privately(work, not_yours_text())
        return
    if action["action_id"] == Action.PRIVACY_KEEP:
        note = kept_text()
    else:
        async with work.db.session() as session:
            erased = await privacy.erase(
                session,
                team_id=work.team_id,
                user_id=work.user_id,
                delivery_id=work.delivery_id or None,
            )
        note = erased_text(deleted=erased.deleted, anonymised=erased.anonymised)
        # The Home tab showed their allies and promises; published directly, as rebuilding
        # it would look their profile up again.
        await work.client.views_publish(user_id=work.user_id, view=build_erased_home_view())
    if not await work.respond(note, blocks=build_outcome_blocks(note), replace_original=True):
        # No response_url (or it expired): the answer still reaches them, in their DM.
        await send_dm(
            work.client, user_id=work.user_id, text=note, blocks=build_notice_blocks(note)
        )


def register(app: AsyncApp, inbox: Inbox) -> None:
    # Not `engaging`: answering the erase question must not enrol the person again.
    button = inbox.listener(
        "privacy_button", confirmation_key, in_their_language(handle_privacy_button)
    )

    app.action(Action.PRIVACY_ERASE)(button)
    app.action(Action.PRIVACY_KEEP)(button)
