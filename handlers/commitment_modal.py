"""The promise modal (new, from the "Track as commitment" shortcut; or an edit, from Edit
and New date) and the shortcut that opens it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import i18n
from bot import text as texts
from bot.blocks.commitments import (
    build_commit_modal,
    people,
    summary,
)
from bot.blocks.kudos import build_notice_blocks
from bot.i18n import _
from bot.ids import Action, Callback
from bot.inbox import Inbox, Work
from bot.services import commitments, kudos
from bot.services.commitments import CommitRejected
from bot.text import Source
from handlers.commitments import checked_parties, owner_of, tell_parties
from handlers.common import engaging
from handlers.dm import send_dm
from handlers.keys import shortcut_key, view_key
from handlers.language import in_their_language


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
        errors["what"] = _("Say what you promised.")
    elif len(v["what"]) > commitments.MAX_TEXT:
        errors["what"] = _(
            "Keep it under {limit} characters.", limit=i18n.format_number(commitments.MAX_TEXT)
        )
    else:
        try:
            commitments.carry(v["what"], source=Source.INPUT, parties=v["parties"])
        except CommitRejected as exc:
            errors["what"] = str(exc)
    if not v["due"]:
        errors["due"] = _("Pick a date and a time.")
    elif datetime.fromtimestamp(int(v["due"]), UTC) <= datetime.now(UTC):
        errors["due"] = _("That time has already passed; pick one in the future.")
    if body["user"]["id"] in v["parties"]:
        errors["parties"] = _("The promise is already yours: name the people you made it to.")
    return {"response_action": "errors", "errors": errors} if errors else None


async def handle_commit_modal(work: Work) -> None:
    """Save a commitment from the modal: a new one (shortcut) or an edit (Edit, New date)."""
    v = _modal_values(work.body)
    meta = json.loads(work.body["view"].get("private_metadata") or "{}")
    work.body.setdefault("response_url", meta.get("response_url"))
    due_at = datetime.fromtimestamp(int(v["due"]), UTC)
    try:
        owner = await owner_of(work)
        parties = await checked_parties(work, owner, v["parties"])
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
    promise = summary(commitment, parties, owner.tz)
    note = (
        _(
            ":white_check_mark: Tracking {promise}. I've let {people} know.",
            promise=promise,
            people=people(told),
        )
        if told
        else _(":white_check_mark: Tracking {promise}.", promise=promise)
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
    view = build_commit_modal(
        what=texts.readable(texts.clean(kudos.USER_MENTION.sub(" ", text)))[
            : commitments.MAX_TEXT
        ].strip(),
        due_at=None,
        parties=parties[: commitments.MAX_PARTIES],
        metadata={"response_url": work.body.get("response_url"), "from": "shortcut"},
        offer_tell=False,
    )
    await work.client.views_open(trigger_id=work.body["trigger_id"], view=view)


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.view(Callback.COMMIT_MODAL)(
        inbox.listener(
            "commit_modal", view_key, engaging(handle_commit_modal), check=check_commit_modal
        )
    )
    app.shortcut(Callback.TRACK_AS_COMMITMENT)(
        inbox.listener("track_shortcut", shortcut_key, in_their_language(handle_track_shortcut))
    )
