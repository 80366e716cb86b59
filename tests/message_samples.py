"""`message` events in every shape Slack documents, for the channel kudos listener.

Built after Slack's own samples: the `message` event and subtype pages of its Events API
documentation (api.slack.com/events/message/…) and the payloads in bolt-python's tests
(scenario_tests: file_share, thread_broadcast, message_changed, message_deleted, bot
messages). Ids, text and timestamps are filled in per test so the server can act on them.
Each sample's text reads like a kudos where the shape carries text at all, so that a shape
allybot ignores is shown to be ignored for its shape, not for its words.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.payloads import fresh_ts

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Shape:
    """Who wrote it, where, which words, and the room's other member, for one sample."""

    channel: str
    user: str
    text: str
    team: str
    other: str  # someone else in the channel (joined, invited, reminded)


def _rich_text(text: str) -> list[JsonDict]:
    return [
        {
            "type": "rich_text",
            "block_id": uuid.uuid4().hex[:4],
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]


def _base(s: Shape, ts: str | None = None, **fields: Any) -> JsonDict:
    stamp = ts or fresh_ts()
    event: JsonDict = {
        "type": "message",
        "channel": s.channel,
        "ts": stamp,
        "event_ts": stamp,
        "channel_type": "group" if s.channel.startswith("G") else "channel",
    }
    event.update(fields)
    return event


def plain(s: Shape) -> JsonDict:
    return _base(
        s,
        user=s.user,
        text=s.text,
        team=s.team,
        client_msg_id=str(uuid.uuid4()),
        blocks=_rich_text(s.text),
    )


def thread_reply(s: Shape) -> JsonDict:
    root = fresh_ts()
    event = plain(s)
    event["thread_ts"] = root
    event["parent_user_id"] = s.other
    return event


def thread_broadcast(s: Shape) -> JsonDict:
    root = fresh_ts()
    event = plain(s)
    event.update(
        subtype="thread_broadcast",
        thread_ts=root,
        root={
            "type": "message",
            "text": "How did the launch go?",
            "user": s.other,
            "ts": root,
            "team": s.team,
            "thread_ts": root,
            "reply_count": 3,
            "reply_users_count": 2,
            "latest_reply": event["ts"],
            "reply_users": [s.other, s.user],
            "is_locked": False,
        },
    )
    return event


def file_share(s: Shape) -> JsonDict:
    """A file shared with a comment: the comment is the message's text."""
    file_id = "F" + uuid.uuid4().hex[:10].upper()
    return _base(
        s,
        subtype="file_share",
        text=s.text,
        user=s.user,
        upload=False,
        display_as_bot=False,
        client_msg_id=str(uuid.uuid4()),
        blocks=_rich_text(s.text),
        files=[
            {
                "id": file_id,
                "name": "launch-notes.png",
                "title": "launch-notes.png",
                "mimetype": "image/png",
                "filetype": "png",
                "pretty_type": "PNG",
                "user": s.user,
                "mode": "hosted",
                "is_external": False,
                "is_public": True,
                "size": 92582,
                "url_private": f"https://files.slack.com/files-pri/{s.team}-{file_id}/launch-notes.png",
                "permalink": f"https://acme.slack.com/files/{s.user}/{file_id}/launch-notes.png",
            }
        ],
    )


def me_message(s: Shape) -> JsonDict:
    """`/me kudos @ann …`: Slack sends the words after /me as the text."""
    return _base(s, subtype="me_message", user=s.user, text=s.text)


def bot_message(s: Shape) -> JsonDict:
    return _base(
        s,
        subtype="bot_message",
        text=s.text,
        bot_id="B" + uuid.uuid4().hex[:8].upper(),
        username="deploy-bot",
        icons={"emoji": ":robot_face:"},
    )


def app_bot_post(s: Shape) -> JsonDict:
    """Another app's bot user posting with chat.postMessage: no subtype, a bot_id."""
    bot = "B" + uuid.uuid4().hex[:8].upper()
    return _base(
        s,
        user="U" + uuid.uuid4().hex[:8].upper(),
        bot_id=bot,
        app_id="A" + uuid.uuid4().hex[:8].upper(),
        text=s.text,
        team=s.team,
        bot_profile={"id": bot, "deleted": False, "name": "other-app", "team_id": s.team},
    )


def message_changed(s: Shape) -> JsonDict:
    original = fresh_ts()
    return _base(
        s,
        subtype="message_changed",
        hidden=True,
        message={
            "type": "message",
            "user": s.user,
            "text": s.text,
            "team": s.team,
            "ts": original,
            "edited": {"user": s.user, "ts": fresh_ts()},
            "blocks": _rich_text(s.text),
        },
        previous_message={
            "type": "message",
            "user": s.user,
            "text": "thanks all for the launch",
            "team": s.team,
            "ts": original,
        },
    )


def message_replied(s: Shape) -> JsonDict:
    root = fresh_ts()
    return _base(
        s,
        subtype="message_replied",
        hidden=True,
        message={
            "type": "message",
            "user": s.user,
            "text": s.text,
            "thread_ts": root,
            "reply_count": 1,
            "replies": [{"user": s.other, "ts": fresh_ts()}],
            "ts": root,
        },
    )


def _notice(subtype: str, text: str, **fields: Any) -> Callable[[Shape], JsonDict]:
    """A channel notice Slack writes itself: the acting user and a sentence about it."""

    def build(s: Shape) -> JsonDict:
        said = {k: v.format(words=s.text) if isinstance(v, str) else v for k, v in fields.items()}
        return _base(
            s, subtype=subtype, user=s.user, text=text.format(user=s.user, words=s.text), **said
        )

    build.__name__ = subtype
    return build


channel_join = _notice("channel_join", "<@{user}> has joined the channel")
channel_leave = _notice("channel_leave", "<@{user}> has left the channel")
group_join = _notice("group_join", "<@{user}> has joined the group")
group_leave = _notice("group_leave", "<@{user}> has left the group")
channel_topic = _notice(
    "channel_topic", "<@{user}> set the channel topic: {words}", topic="{words}"
)
channel_purpose = _notice(
    "channel_purpose", "<@{user}> set the channel purpose: {words}", purpose="{words}"
)
group_topic = _notice("group_topic", "<@{user}> set the group topic: {words}", topic="{words}")
group_purpose = _notice("group_purpose", "<@{user}> set the group purpose: {words}")
channel_name = _notice(
    "channel_name",
    '<@{user}> has renamed the channel from "launch" to "launch-kudos"',
    old_name="launch",
    name="launch-kudos",
)
group_name = _notice(
    "group_name",
    '<@{user}> has renamed the group from "launch" to "launch-kudos"',
    old_name="launch",
    name="launch-kudos",
)
channel_archive = _notice("channel_archive", "<@{user}> archived the channel")
channel_unarchive = _notice("channel_unarchive", "<@{user}> un-archived the channel")
group_archive = _notice("group_archive", "<@{user}> archived the group")
group_unarchive = _notice("group_unarchive", "<@{user}> un-archived the group")
channel_posting_permissions = _notice(
    "channel_posting_permissions", "<@{user}> changed who can post in this channel"
)
channel_convert_to_private = _notice(
    "channel_convert_to_private", "<@{user}> made this channel private"
)
channel_convert_to_public = _notice(
    "channel_convert_to_public", "<@{user}> made this channel public"
)
pinned_item = _notice(
    "pinned_item", "<@{user}> pinned a message to this channel: {words}", item_type="C"
)
unpinned_item = _notice("unpinned_item", "<@{user}> unpinned a message from this channel")
reminder_add = _notice("reminder_add", "set up a reminder \u201c{words}\u201d in this channel")
file_mention = _notice("file_mention", "<@{user}> mentioned a file: {words}")
file_comment = _notice("file_comment", "<@{user}> commented on a file: {words}")
ekm_access_denied = _notice(
    "ekm_access_denied", "Your admins have suspended everyone's access to this content."
)


def in_a_group_dm(s: Shape) -> JsonDict:
    """A message in a group DM allybot is in (message.mpim, not subscribed)."""
    event = plain(s)
    event["channel"] = "G" + uuid.uuid4().hex[:10].upper()
    event["channel_type"] = "mpim"
    return event


def message_deleted(s: Shape, *, deleted_ts: str, text: str) -> JsonDict:
    return _base(
        s,
        subtype="message_deleted",
        hidden=True,
        deleted_ts=deleted_ts,
        previous_message={
            "type": "message",
            "user": s.user,
            "text": text,
            "team": s.team,
            "ts": deleted_ts,
        },
    )


COUNTED: dict[str, Callable[[Shape], JsonDict]] = {
    "plain": plain,
    "thread reply": thread_reply,
    "thread_broadcast": thread_broadcast,
    "file_share": file_share,
    "me_message": me_message,
}

IGNORED: dict[str, Callable[[Shape], JsonDict]] = {
    "bot_message": bot_message,
    "another app's bot": app_bot_post,
    "message_changed": message_changed,
    "message_replied": message_replied,
    "in a group DM": in_a_group_dm,
    **{
        f.__name__: f
        for f in (
            channel_join,
            channel_leave,
            group_join,
            group_leave,
            channel_topic,
            channel_purpose,
            group_topic,
            group_purpose,
            channel_name,
            group_name,
            channel_archive,
            channel_unarchive,
            group_archive,
            group_unarchive,
            channel_posting_permissions,
            channel_convert_to_private,
            channel_convert_to_public,
            pinned_item,
            unpinned_item,
            reminder_add,
            file_mention,
            file_comment,
            ekm_access_denied,
        )
    },
}
