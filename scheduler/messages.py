"""The kinds of message the scheduler sends, and what each gives the one sender.

Every message allybot sends on its own (not as a reply to someone) is an `outbox` row: a
person's daily DM, an intros group post, a weekly digest, and whatever is added later. A
kind plans its rows elsewhere (set-based, ON CONFLICT DO NOTHING) and registers here how to
render one row at send time; `scheduler/sender.py` claims, sends and marks every row the
same way, so retries, leases and "sent once" are written once.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OutboxMessage
from bot.runtime import AllyBot


@dataclass(frozen=True)
class Outgoing:
    """Where a row goes and what it says. One of `user_id` (a DM), `channel_id` (a channel
    or a group DM already open) or `members` (a group DM the sender opens) is set."""

    text: str
    blocks: list[Block]
    user_id: str | None = None
    channel_id: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skip:
    """Nothing to send after all (the person left, the week had no kudos, …)."""

    reason: str


RenderFn = Callable[[AllyBot, AsyncWebClient, OutboxMessage, datetime], Awaitable[Outgoing | Skip]]
OpenedFn = Callable[[AsyncSession, OutboxMessage, str], Awaitable[None]]
ClientFn = Callable[[str], Awaitable[AsyncWebClient]]
PrepareFn = Callable[[AllyBot, ClientFn, list[OutboxMessage]], Awaitable[Any]]
RenderInFn = Callable[
    [AsyncSession, list[OutboxMessage], Any, datetime], Awaitable[dict[int, Outgoing | Skip]]
]


@dataclass(frozen=True)
class Batched:
    """How a kind renders many rows at once: `prepare` reads what may need Slack (profiles)
    outside any transaction; `render` then renders the rows inside the transaction that
    marks them sending, so a group of sends costs one commit, not one each. Only for kinds
    that post to a person or a channel (no group DM to open)."""

    prepare: PrepareFn
    render: RenderInFn


@dataclass(frozen=True)
class MessageKind:
    """`render` builds the message when its row is sent; `opened`, when set, keeps the group
    DM the sender opened for it (so later messages to the same people reuse it); `batched`,
    when set, is what the sender uses instead of `render`."""

    name: str
    render: RenderFn
    opened: OpenedFn | None = None
    batched: Batched | None = None


_KINDS: dict[str, MessageKind] = {}
_BUILTIN = ("scheduler.daily", "scheduler.kinds.intros", "scheduler.digest")


def register(kind: MessageKind) -> MessageKind:
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> MessageKind | None:
    for module in _BUILTIN:  # each registers its message kinds on import
        importlib.import_module(module)
    return _KINDS.get(name)
