"""The one way the scheduler sends to Slack: claim due outbox rows, render, post, mark.

Every message allybot sends on its own is an `outbox` row (see `scheduler/messages.py`).
This module is the only one in the scheduler that talks to Slack's posting methods, so one
policy holds for all of them: a row is claimed with a token and a lease (FOR UPDATE SKIP
LOCKED on PostgreSQL), marked `sending_at` just before the post and `sent` with Slack's ts
after; errors no retry can fix fail it with the reason, others are retried by later passes
with backoff, up to `outbox.MAX_ATTEMPTS`; a row whose holder died is taken over after its
lease, and counted as a possible duplicate if its post was in flight.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy.sql.selectable import Subquery

from bot import kudos_posts
from bot.logs import describe, log_context
from bot.metrics import MESSAGES
from bot.models import OutboxMessage
from bot.runtime import AllyBot
from bot.services import me_too
from bot.slack import slack_error
from scheduler import messages, outbox
from scheduler.messages import Skip

logger = logging.getLogger(__name__)

# Errors that no retry will fix.
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
    limit = asyncio.Semaphore(concurrency)
    released: list[int] = []
    while not bot.stopping.is_set():  # a process shutting down finishes its batch, no more
        token = str(uuid.uuid4())
        async with bot.db.session() as session:
            result.resent += await outbox.claim_due(
                session, now=now, token=token, limit=batch, team_id=team_id, kinds=kinds
            )
            if clocks is not None and (kinds is None or outbox.DAILY in kinds):
                await outbox.claim_new(
                    session, clocks=clocks, now=now, token=token, limit=batch, team_id=team_id
                )
        async with bot.db.session() as session:
            rows = await outbox.claimed(session, token=token)
        if not rows:
            break

        async def bounded(row: OutboxMessage, token: str = token) -> None:
            async with limit:
                if bot.stopping.is_set():  # shutting down: hand back what has not started
                    released.append(row.id)
                    return
                await send_one(bot, row, token=token, now=now, result=result)

        await asyncio.gather(*(bounded(row) for row in rows))
        if released:
            async with bot.db.session() as session:
                await outbox.release(session, message_ids=released, now=now)
            logger.info("handed back %d unsent messages for another replica", len(released))
            released.clear()
        if len(rows) < batch:
            break
    if result.resent:
        MESSAGES.labels("resent").inc(result.resent)
        logger.warning("re-sent %d messages whose sender died mid-send", result.resent)
    return result


async def send_one(
    bot: AllyBot, row: OutboxMessage, *, token: str, now: datetime, result: SendResult
) -> None:
    """Render one claimed row, post it, and record what happened."""
    with log_context(team=row.team_id, message=row.id, kind=row.kind):
        kind = messages.get(row.kind)
        client = await bot.clients.for_team(row.team_id)
        try:
            rendered = await kind.render(bot, client, row, now) if kind else Skip("unknown kind")
            if isinstance(rendered, Skip):
                async with bot.db.session() as session:
                    await outbox.cancel(session, message=row, why=rendered.reason)
                result.cancelled += 1
                MESSAGES.labels("cancelled").inc()
                return
            assert kind is not None
            channel = rendered.user_id or rendered.channel_id
            if channel is None:  # Slack gives the same group DM for the same people
                opened = await client.conversations_open(users=",".join(rendered.members))
                channel = str(opened["channel"]["id"])
                if kind.opened is not None:
                    async with bot.db.session() as session:
                        await kind.opened(session, row, channel)
            async with bot.db.session() as session:
                if not await outbox.mark_sending(session, message_id=row.id, token=token, now=now):
                    return  # the claim was lost meanwhile; its new holder sends it
            resp = await client.chat_postMessage(
                channel=channel,
                text=rendered.text,
                blocks=rendered.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            error = slack_error(exc) if isinstance(exc, SlackApiError) else describe(exc)
            permanent = isinstance(exc, SlackApiError) and error in PERMANENT
            async with bot.db.session() as session:
                status = await outbox.mark_attempt_failed(
                    session, message_id=row.id, now=now, error=error, permanent=permanent
                )
            outcome = "failed" if status == "failed" else "retry"
            setattr(result, outcome, getattr(result, outcome) + 1)
            result.errors.append(error)
            MESSAGES.labels(outcome).inc()
            logger.warning(
                "%s message not sent: %s",
                row.kind,
                error,
                extra={"outcome": outcome, "reason": error},
                exc_info=not isinstance(exc, SlackApiError),  # a bug, not Slack: its traceback
            )
            return
        async with bot.db.session() as session:
            await outbox.mark_sent(
                session,
                message_id=row.id,
                channel_id=str(resp["channel"]),
                ts=str(resp["ts"]),
                now=now,
            )
        result.sent += 1
        MESSAGES.labels("sent").inc()
        logger.info("%s message sent", row.kind, extra={"outcome": "sent"})


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
