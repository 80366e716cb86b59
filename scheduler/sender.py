"""The one way the scheduler sends to Slack: claim due outbox rows, render, post, mark.

Every message allybot sends on its own is an `outbox` row (see `scheduler/messages.py`).
This module is the only one in the scheduler that talks to Slack's posting methods, so one
policy holds for all of them: a row is claimed with a token and a lease (FOR UPDATE SKIP
LOCKED on PostgreSQL), marked `sending_at` just before the post and `sent` with Slack's ts
after; errors no retry can fix fail it with the reason, others are retried by later passes
with backoff, up to `outbox.MAX_ATTEMPTS`; a row whose holder died is taken over after its
lease, and counted as a possible duplicate if its post was in flight. The writes of the
sends in flight are grouped (`Sending`): many sends share one transaction for rendering and
marking `sending_at`, and one for marking `sent`, so a message costs a fraction of a commit.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.sql.selectable import Subquery

from bot import kudos_posts
from bot.group_commit import GroupCommit
from bot.logs import describe, log_context
from bot.metrics import MESSAGES
from bot.models import OutboxMessage
from bot.runtime import AllyBot
from bot.services import me_too
from bot.slack import slack_error
from scheduler import messages, outbox
from scheduler.messages import Batched, Outgoing, Skip

logger = logging.getLogger(__name__)

# Errors that no retry will fix.
MAX_GROUP = 100  # sends whose writes share one transaction

PERMANENT = {
    "channel_not_found",
    "user_not_found",
    "user_disabled",
    "account_inactive",
    "cannot_dm_bot",
    "not_authed",
    "invalid_auth",
    "token_revoked",
    "missing_scope",
    "invalid_blocks",
    "msg_too_long",
}


@dataclass
class SendResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    cancelled: int = 0
    resent: int = 0
    errors: list[str] = field(default_factory=list)


async def send_due(
    bot: AllyBot,
    *,
    clocks: Subquery | None,
    now: datetime,
    batch: int = 200,
    concurrency: int = 20,
    team_id: str | None = None,
    kinds: Sequence[str] | None = None,
) -> SendResult:
    """Claim and send until nothing due is left; safe to run on many replicas at once.

    With `clocks`, people with due nudges get their daily message; `kinds` narrows which
    rows are sent (the digest command sends only digests)."""
    result = SendResult()
    slots = Slots(concurrency, per_team=max(1, concurrency // 2))
    released: list[int] = []
    in_flight: set[asyncio.Task[None]] = set()

    async def bounded(sending: Sending, row: OutboxMessage) -> None:
        try:
            await sending.send(row)
        finally:
            await slots.give(row.team_id)

    # The next batch is claimed as soon as the last row of this one has a slot, while the
    # rest of this one is still in flight: the sender never idles between batches.
    while not bot.stopping.is_set():  # a process shutting down finishes what it started
        token = str(uuid.uuid4())
        async with bot.db.session() as session:
            result.resent += await outbox.claim_due(
                session, now=now, token=token, limit=batch, team_id=team_id, kinds=kinds
            )
            if clocks is not None and (kinds is None or outbox.DAILY in kinds):
                await outbox.claim_new(
                    session, clocks=clocks, now=now, token=token, limit=batch, team_id=team_id
                )
            rows = await outbox.claimed(session, token=token)
        if not rows:
            break
        sending = Sending(bot, token=token, now=now, result=result)
        waiting = deque(interleaved(rows))
        while waiting:
            row = await slots.take(waiting)
            if bot.stopping.is_set():  # shutting down: hand back what has not started
                await slots.give(row.team_id)
                released.extend([row.id, *(r.id for r in waiting)])
                break
            task = asyncio.create_task(bounded(sending, row))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if len(rows) < batch:
            break
    await asyncio.gather(*in_flight)
    if released:
        async with bot.db.session() as session:
            await outbox.release(session, message_ids=released, now=now)
        logger.info("handed back %d unsent messages for another replica", len(released))
    if result.resent:
        MESSAGES.labels("resent").inc(result.resent)
        logger.warning("re-sent %d messages whose sender died mid-send", result.resent)
    return result


def interleaved(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """The rows taking turns by workspace, so one workspace's slow or rate-limited sends do
    not hold up the others' in a batch."""
    by_team: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        by_team.setdefault(row.team_id, []).append(row)
    turns = itertools.zip_longest(*by_team.values())
    return [row for turn in turns for row in turn if row is not None]


class Slots:
    """Sends in flight: at most `total`, and at most `per_team` to one workspace. Slack's
    limits are per workspace and method (and its Retry-After with them), so a workspace
    Slack holds back keeps at most its share of the slots waiting, not all of them."""

    def __init__(self, total: int, *, per_team: int) -> None:
        self.total, self.per_team = total, per_team
        self.busy = 0
        self.by_team: Counter[str] = Counter()
        self.freed = asyncio.Condition()

    async def take(self, waiting: deque[OutboxMessage]) -> OutboxMessage:
        """The first waiting row whose workspace has a slot free, once one is: taken off
        `waiting`, its slot held until `give`."""
        async with self.freed:
            while True:
                if self.busy < self.total:
                    for row in waiting:
                        if self.by_team[row.team_id] < self.per_team:
                            waiting.remove(row)
                            self.busy += 1
                            self.by_team[row.team_id] += 1
                            return row
                await self.freed.wait()

    async def give(self, team_id: str) -> None:
        async with self.freed:
            self.busy -= 1
            self.by_team[team_id] -= 1
            self.freed.notify_all()


@dataclass(frozen=True)
class Staged:
    """A claimed row on its way to being marked sending: already rendered (`rendered`, and
    the `channel` it goes to), or None for its kind to render in the group's transaction."""

    row: OutboxMessage
    rendered: Outgoing | Skip | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Ready:
    """Rendered, marked sending, and where to post it."""

    message: Outgoing
    channel: str


class Sending:
    """One claimed batch on its way out. Each workspace's client is looked up once for the
    batch, and the writes of the sends in flight are group-committed (bot.group_commit):
    rendering and marking `sending_at` in one transaction, marking `sent` in another, each shared by
    every send that reaches that step together. Every post is still preceded by its own
    committed `sending_at`, so a crash doubles at most the posts in flight, as counted."""

    def __init__(self, bot: AllyBot, *, token: str, now: datetime, result: SendResult) -> None:
        self.bot, self.token, self.now, self.result = bot, token, now, result
        self._clients: dict[str, asyncio.Future[AsyncWebClient]] = {}
        # One bad send fails alone, the others of its group go through.
        self.staging: GroupCommit[Staged, Ready | Skip | None] = GroupCommit(
            self._stage, name="messages to render", max_batch=MAX_GROUP, each_alone=True
        )
        self.landing: GroupCommit[tuple[int, str, str], None] = GroupCommit(
            self._land, name="messages sent", max_batch=MAX_GROUP, each_alone=True
        )

    async def client(self, team_id: str) -> AsyncWebClient:
        if team_id not in self._clients:
            self._clients[team_id] = asyncio.ensure_future(self.bot.clients.for_team(team_id))
        return await self._clients[team_id]

    async def send(self, row: OutboxMessage) -> None:
        """Render one claimed row, post it, and record what happened."""
        result = self.result
        with log_context(team=row.team_id, message=row.id, kind=row.kind):
            try:
                outcome = await self.staging.submit(await self._staged(row))
                if outcome is None:
                    return  # the claim was lost meanwhile; its new holder sends it
                if isinstance(outcome, Skip):
                    result.cancelled += 1
                    MESSAGES.labels("cancelled").inc()
                    return
                client = await self.client(row.team_id)
                resp = await client.chat_postMessage(
                    channel=outcome.channel,
                    text=outcome.message.text,
                    blocks=outcome.message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as exc:
                await self._failed(row, exc)
                return
            await self.landing.submit((row.id, str(resp["channel"]), str(resp["ts"])))
            result.sent += 1
            MESSAGES.labels("sent").inc()
            logger.info("%s message sent", row.kind, extra={"outcome": "sent"})

    async def _staged(self, row: OutboxMessage) -> Staged:
        """A kind that renders in groups is rendered in the staging transaction; any other
        renders here, in its own transactions, and its group DM is opened here."""
        kind = messages.get(row.kind)
        if kind is None:
            return Staged(row, Skip("unknown kind"))
        if kind.batched is not None:
            return Staged(row)
        client = await self.client(row.team_id)
        rendered = await kind.render(self.bot, client, row, self.now)
        if isinstance(rendered, Skip):
            return Staged(row, rendered)
        channel = rendered.user_id or rendered.channel_id
        if channel is None:  # Slack gives the same group DM for the same people
            opened = await client.conversations_open(users=",".join(rendered.members))
            channel = str(opened["channel"]["id"])
            if kind.opened is not None:
                async with self.bot.db.session() as session:
                    await kind.opened(session, row, channel)
        return Staged(row, rendered, channel)

    async def _stage(self, group: list[Staged]) -> list[Ready | Skip | None]:
        """Render what is left to render, cancel what has nothing to say, and mark the rest
        sending, in one transaction; None for a row whose claim was lost."""
        todo: dict[str, list[OutboxMessage]] = {}
        for staged in group:
            if staged.rendered is None:
                todo.setdefault(staged.row.kind, []).append(staged.row)
        prepared: dict[str, Any] = {}
        for name, rows in todo.items():  # reads that may ask Slack: before the transaction
            prepared[name] = await _batched(name).prepare(self.bot, self.client, rows)
        rendered: dict[int, Outgoing | Skip] = {}
        channels = {s.row.id: s.channel for s in group}
        async with self.bot.db.session() as session:
            for name, rows in todo.items():
                rendered.update(
                    await _batched(name).render(session, rows, prepared[name], self.now)
                )
            for staged in group:
                message = rendered.setdefault(staged.row.id, staged.rendered)  # type: ignore[arg-type]
                if isinstance(message, Skip):
                    await outbox.cancel(session, message=staged.row, why=message.reason)
                elif channels[staged.row.id] is None:
                    channels[staged.row.id] = message.user_id or message.channel_id
            held = await outbox.mark_sending(
                session,
                message_ids=[mid for mid, m in rendered.items() if isinstance(m, Outgoing)],
                token=self.token,
                now=self.now,
            )
        out: list[Ready | Skip | None] = []
        for staged in group:
            message = rendered[staged.row.id]
            if isinstance(message, Skip):
                out.append(message)
            elif staged.row.id in held:
                out.append(Ready(message, str(channels[staged.row.id])))
            else:
                out.append(None)
        return out

    async def _land(self, posted: list[tuple[int, str, str]]) -> list[None]:
        async with self.bot.db.session() as session:
            await outbox.mark_sent(session, posted=posted, now=self.now)
        return [None] * len(posted)

    async def _failed(self, row: OutboxMessage, exc: Exception) -> None:
        """A failed send: retried by a later pass, or failed for good with its reason."""
        error = slack_error(exc) if isinstance(exc, SlackApiError) else describe(exc)
        permanent = isinstance(exc, SlackApiError) and error in PERMANENT
        async with self.bot.db.session() as session:
            status = await outbox.mark_attempt_failed(
                session, message_id=row.id, now=self.now, error=error, permanent=permanent
            )
        outcome = "failed" if status == "failed" else "retry"
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)
        self.result.errors.append(error)
        MESSAGES.labels(outcome).inc()
        logger.warning(
            "%s message not sent: %s",
            row.kind,
            error,
            extra={"outcome": outcome, "reason": error},
            exc_info=not isinstance(exc, SlackApiError),  # a bug, not Slack: its traceback
        )


def _batched(name: str) -> Batched:
    kind = messages.get(name)
    assert kind is not None and kind.batched is not None
    return kind.batched


async def finish_kudos_edits(bot: AllyBot, *, now: datetime) -> int:
    """ "Me too" edits of kudos posts whose handler died before making them (they keep their
    own claims in `kudos_post_updates`; a failure waits for the claim's lease, as there)."""
    async with bot.db.session() as session:
        claimed = await me_too.claim(session, now=now, grace=me_too.STALE)
    for row in claimed:
        edit = await kudos_posts.prepare(bot.db, row)
        if edit is None:
            continue
        client = await bot.clients.for_team(row.team_id)
        try:
            await client.chat_update(
                channel=row.channel_id, ts=row.ts, text=edit.text, blocks=edit.blocks
            )
        except SlackApiError as exc:
            if slack_error(exc) not in kudos_posts.GONE:
                raise
            await kudos_posts.gone(bot.db, edit, slack_error(exc))
            continue
        await kudos_posts.landed(bot.db, edit)
    return len(claimed)
