"""Kudos where people already are: a channel message saying kudos, the kudos reaction."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError

from bot import directory, i18n
from bot.blocks.kudos import build_give_kudos_modal, build_notice_blocks
from bot.db import Database
from bot.i18n import _
from bot.ids import Callback, erased
from bot.inbox import Inbox, Work
from bot.services import kudos, me_too, people
from bot.services.kudos import KudosRejected
from bot.slack import slack_error
from bot.tenancy import installation_key
from bot.text import Source
from handlers.common import engaging
from handlers.direct import handle_direct_message, is_direct_message
from handlers.keys import event_key, shortcut_key, view_key
from handlers.kudos import give_and_announce
from handlers.kudos_posts import edit_when_settled
from handlers.language import (
    event_user,
    in_their_language,
)

DEFAULT_EMOJI = "raised_hands"
# The message shapes that can give kudos (README, "Every message Slack sends"): plain
# messages and thread replies, "also send to channel" replies, a file shared with a comment,
# and `/me`. Edits, channel notices and bots' messages never do.
KUDOS_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


class EmojiCache:
    """Each workspace's kudos emoji, read at most once a minute, so the ack path can tell a
    kudos from any other message without storing the others."""

    def __init__(self, db: Database, ttl: float = 60.0) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[str, tuple[float, str]] = {}

    async def get(self, team_id: str) -> str:
        hit = self._cache.get(team_id)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        async with self.db.session() as session:
            workspace = await people.ensure_workspace(session, team_id=team_id)
        self._cache[team_id] = (time.monotonic(), workspace.kudos_emoji)
        return workspace.kudos_emoji


def base_emoji(name: str) -> str:
    """`raised_hands::skin-tone-3` is still the kudos emoji."""
    return name.split("::", 1)[0]


def is_kudos_message_event(event: dict[str, Any], emoji: str) -> bool:
    return (
        event.get("subtype") in KUDOS_SUBTYPES
        and not event.get("bot_id")
        and event.get("channel_type") in ("channel", "group", None)
        and bool(event.get("user"))
        and kudos.is_kudos_message(str(event.get("text") or ""), emoji)
    )


def is_deleted_kudos_event(event: dict[str, Any], emoji: str) -> bool:
    """A `message_deleted` whose message was one that gives kudos."""
    previous = dict(event.get("previous_message") or {})
    previous.setdefault("channel_type", event.get("channel_type"))
    return event.get("subtype") == "message_deleted" and is_kudos_message_event(previous, emoji)


async def _tell_giver(work: Work, channel: str, user: str, text: str) -> None:
    """Privately, in the channel where they gave the kudos."""
    await work.client.chat_postEphemeral(
        channel=channel, user=user, text=text, blocks=build_notice_blocks(text)
    )


async def handle_kudos_message(work: Work) -> None:
    """ "kudos @ann for the demo" in a channel: kudos to everyone mentioned; a reaction says
    it was counted, without a reply in the channel."""
    event = work.body["event"]
    giver, channel, ts = event["user"], event["channel"], event["ts"]
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
    try:
        parsed = kudos.parse_kudos_message(
            str(event.get("text") or ""), giver_id=giver, known_tags=kudos.tags_for(workspace)
        )
        await give_and_announce(
            work,
            giver_id=giver,
            parsed=parsed,
            channel_id=channel,
            source="message",
            source_key=kudos.message_source_key(channel, ts, giver),
            public=False,
        )
    except KudosRejected as exc:
        await _tell_giver(work, channel, giver, str(exc))
        return
    try:
        await work.client.reactions_add(channel=channel, timestamp=ts, name=workspace.kudos_emoji)
    except SlackApiError as exc:
        if slack_error(exc) != "already_reacted":
            raise


async def _post_reacted_to(work: Work) -> me_too.Post | None:
    item = work.body["event"]["item"]
    async with work.db.session() as session:
        return await me_too.find_post(
            session, team_id=work.team_id, channel_id=item["channel"], ts=item["ts"]
        )


async def join_in(work: Work, post: me_too.Post, reactor: str) -> None:
    """The kudos emoji on allybot's kudos post: the reactor's own kudos to the same people."""
    receivers = me_too.receivers_left(post, reactor)
    if not receivers:
        return  # the giver or a receiver reacting says thanks; it is not a +1
    found = await directory.lookup(
        work.db, work.client, team_id=work.team_id, user_ids=[post.giver_id]
    )
    original = found.get(post.giver_id)
    key = me_too.source_key(post.channel_id, post.ts, reactor)
    # Kept with the +1 and shown to everyone who sees it: the workspace's language.
    with i18n.speaking(work.workspace.language if work.workspace else None):
        reason = me_too.reason_for(post, original.name if original else None)
        # What the erase leaves on a +1 (privacy.erase), should the giver erase meanwhile.
        reason_without_giver = _(me_too.ERASED_REASON)
    try:
        await give_and_announce(
            work,
            giver_id=reactor,
            parsed=kudos.ParsedKudos(
                receivers=tuple(receivers),
                reason=reason,
                tags=post.tags,
            ),
            channel_id=post.channel_id,
            source=me_too.SOURCE,
            source_key=key,
            public=False,
            # The reason repeats the original's giver: fenced like the receivers.
            named=() if erased(post.giver_id) else (post.giver_id,),
            reason_without_named=reason_without_giver,
        )
    except KudosRejected as exc:
        await _tell_giver(work, post.channel_id, reactor, str(exc))
        return
    await _recount(work, post, key=key, added=True)


async def _recount(work: Work, post: me_too.Post, *, key: str, added: bool) -> None:
    async with work.db.session() as session:
        if added:
            await me_too.attach(
                session, team_id=work.team_id, key=key, channel_id=post.channel_id, ts=post.ts
            )
        elif not await me_too.withdraw(session, team_id=work.team_id, key=key):
            return  # nothing to take back: the count is unchanged
        await me_too.schedule_update(
            session, team_id=work.team_id, channel_id=post.channel_id, ts=post.ts, now=work.now()
        )
    await edit_when_settled(
        work.db, work.client, team_id=work.team_id, channel_id=post.channel_id, ts=post.ts
    )


async def handle_kudos_reaction(work: Work) -> None:
    """The kudos emoji on someone's message: a kudos to its author; on allybot's own kudos
    post, a "me too" to the same people."""
    event = work.body["event"]
    item = event["item"]
    giver, receiver = event["user"], event.get("item_user")
    post = await _post_reacted_to(work)
    if post is not None:
        await join_in(work, post, giver)
        return
    if not receiver or receiver == giver:
        return  # reacting to your own message is not a kudos; no need to say so
    try:
        await give_and_announce(
            work,
            giver_id=giver,
            parsed=kudos.ParsedKudos(
                receivers=(receiver,),
                reason=reaction_reason(work),
                tags=(),
            ),
            channel_id=item["channel"],
            source="reaction",
            source_key=kudos.message_source_key(item["channel"], item["ts"], giver),
            public=False,
        )
    except KudosRejected as exc:
        await _tell_giver(work, item["channel"], giver, str(exc))


def reaction_reason(work: Work) -> str:
    """The words a reaction's kudos is kept with: shown to the receiver, in the channel and
    the digest alike, so in the workspace's language."""
    with i18n.speaking(work.workspace.language if work.workspace else None):
        return _("recognised your message with a kudos reaction")


async def handle_kudos_message_deleted(work: Work) -> None:
    """A kudos message deleted: the kudos it gave are taken back, as when the kudos reaction
    is removed (a message deleted and posted again, corrected, counts once)."""
    event = work.body["event"]
    previous = event.get("previous_message") or {}
    ts = str(event.get("deleted_ts") or previous.get("ts"))
    async with work.db.session() as session:
        await kudos.withdraw_message(
            session,
            team_id=work.team_id,
            source_key=kudos.message_source_key(event["channel"], ts, str(previous["user"])),
        )


async def handle_kudos_unreaction(work: Work) -> None:
    """Removing the reaction takes the kudos (or the "me too") back."""
    event = work.body["event"]
    item = event["item"]
    receiver = event.get("item_user")
    post = await _post_reacted_to(work)
    if post is not None:
        key = me_too.source_key(post.channel_id, post.ts, event["user"])
        await _recount(work, post, key=key, added=False)
        return
    if not receiver:
        return
    async with work.db.session() as session:
        await kudos.withdraw(
            session,
            team_id=work.team_id,
            source_key=kudos.message_source_key(item["channel"], item["ts"], event["user"]),
            receiver_id=receiver,
        )


def register(app: AsyncApp, inbox: Inbox) -> None:
    emojis = EmojiCache(inbox.db)
    record_message = inbox.listener(
        "kudos_message", event_key, in_their_language(handle_kudos_message, who=event_user)
    )
    record_reaction = inbox.listener(
        "kudos_reaction", event_key, in_their_language(handle_kudos_reaction, who=event_user)
    )
    record_unreaction = inbox.listener("kudos_unreaction", event_key, handle_kudos_unreaction)
    record_deletion = inbox.listener(
        "kudos_message_deleted", event_key, handle_kudos_message_deleted
    )

    record_dm = inbox.listener(
        "direct_message", event_key, in_their_language(handle_direct_message, who=event_user)
    )

    async def on_message(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Kudos in channels (and the deletion of one) and what people write to allybot are
        recorded; every other message is acked and forgotten."""
        event = body.get("event") or {}
        if is_direct_message(event):
            await record_dm(ack, body, context)
            return
        emoji = await emojis.get(installation_key(context, body))
        if is_kudos_message_event(event, emoji):
            await record_message(ack, body, context)
        elif is_deleted_kudos_event(event, emoji):
            await record_deletion(ack, body, context)
        else:
            await ack()

    async def on_reaction(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        event = body.get("event") or {}
        emoji = await emojis.get(installation_key(context, body))
        is_kudos = (
            base_emoji(str(event.get("reaction"))) == emoji
            and (event.get("item") or {}).get("type") == "message"
        )
        if not is_kudos:
            await ack()
        elif event.get("type") == "reaction_added":
            await record_reaction(ack, body, context)
        else:
            await record_unreaction(ack, body, context)

    app.event("message")(on_message)
    app.event("reaction_added")(on_reaction)
    app.event("reaction_removed")(on_reaction)
    register_shortcut(app, inbox)


async def handle_give_kudos_shortcut(work: Work) -> None:
    """ "Give kudos for this" on a message: a modal prefilled with its author and a link."""
    body = work.body
    channel = (body.get("channel") or {}).get("id", "")
    message = body.get("message") or {}
    permalink = None
    try:
        resp = await work.client.chat_getPermalink(channel=channel, message_ts=message["ts"])
        permalink = resp.get("permalink")
    except SlackApiError:
        permalink = None  # a link is a nicety; the kudos works without it
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
    author = message.get("user")
    view = build_give_kudos_modal(
        author_id=author if author != work.user_id else None,
        permalink=permalink,
        tags=kudos.tags_for(workspace),
        metadata=json.dumps({"channel": channel, "ts": message.get("ts"), "permalink": permalink}),
    )
    await work.client.views_open(trigger_id=body["trigger_id"], view=view)


def _kudos_modal_values(body: dict[str, Any]) -> tuple[str | None, str, list[str], bool]:
    values = body["view"]["state"]["values"]
    receiver = (values.get("receiver") or {}).get("receiver", {}).get("selected_user")
    reason = kudos.CONTROL.sub(
        "", (values.get("reason") or {}).get("reason", {}).get("value") or ""
    )
    reason = reason.strip()
    tags = [
        o["value"] for o in (values.get("tags") or {}).get("tags", {}).get("selected_options") or []
    ]
    private = bool((values.get("private") or {}).get("private", {}).get("selected_options"))
    return receiver, reason, tags, private


def check_give_kudos(body: dict[str, Any]) -> dict[str, Any] | None:
    receiver, reason, __, ___ = _kudos_modal_values(body)
    errors: dict[str, str] = {}
    if not receiver:
        errors["receiver"] = _("Pick who the kudos are for.")
    elif receiver == body["user"]["id"]:
        errors["receiver"] = _("Kudos are for recognising others. Who helped you?")
    if not re.search(r"\w", reason):
        errors["reason"] = _("Say what they did: kudos recognise a behaviour.")
    elif len(reason) > kudos.MAX_TEXT:
        errors["reason"] = _(
            "Keep it under {limit} characters.", limit=i18n.format_number(kudos.MAX_TEXT)
        )
    else:
        try:
            kudos.carry(reason, source=Source.INPUT, mentions=[receiver or ""])
        except KudosRejected as exc:
            errors["reason"] = str(exc)
    return {"response_action": "errors", "errors": errors} if errors else None


async def handle_give_kudos_submitted(work: Work) -> None:
    receiver, reason, tags, private = _kudos_modal_values(work.body)
    meta = json.loads(work.body["view"].get("private_metadata") or "{}")
    channel, ts, permalink = meta.get("channel"), meta.get("ts"), meta.get("permalink")
    assert receiver is not None
    try:
        reason = kudos.carry(reason, source=Source.INPUT, mentions=[receiver])
        if permalink and str(permalink).startswith("https://") and " " not in permalink:
            reason += f" (<{permalink}>)"
        await give_and_announce(
            work,
            giver_id=work.user_id,
            parsed=kudos.ParsedKudos(receivers=(receiver,), reason=reason, tags=tuple(tags)),
            channel_id=channel,
            source="shortcut",
            source_key=kudos.message_source_key(channel or "", ts or "", work.user_id),
            private=private,
        )
    except KudosRejected as exc:
        if channel:
            await _tell_giver(work, channel, work.user_id, str(exc))


def register_shortcut(app: AsyncApp, inbox: Inbox) -> None:
    app.shortcut(Callback.GIVE_KUDOS_FOR_MESSAGE)(
        inbox.listener(
            "give_kudos_shortcut",
            shortcut_key,
            in_their_language(handle_give_kudos_shortcut),
        )
    )
    app.view(Callback.GIVE_KUDOS_FOR_MESSAGE)(
        inbox.listener(
            "give_kudos_modal",
            view_key,
            engaging(handle_give_kudos_submitted),
            check=check_give_kudos,
        )
    )
