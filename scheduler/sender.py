"""Sends claimed daily messages: many people at once, one message per person per day."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy.sql.selectable import Subquery

from bot import directory
from bot.blocks.nudges import build_daily_message_blocks
from bot.dm import send_dm
from bot.logs import describe, log_context
from bot.metrics import MESSAGES
from bot.models import DailyMessage, Nudge, Person
from bot.runtime import AllyBot
from bot.slack import slack_error
from scheduler import kinds, outbox
from scheduler.kinds import Rendered

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


async def render_items(
    session: object, items: list[Nudge], person: Person, record: bool
) -> list[Rendered]:
    """Each item's blocks, in the fixed bundle order of their kinds."""
    order = {k.name: k.order for k in kinds.all_kinds()}
    rendered: list[Rendered] = []
    by_kind: dict[str, list[Nudge]] = {}
    for item in sorted(items, key=lambda n: (order.get(n.kind, 1000), n.id)):
        by_kind.setdefault(item.kind, []).append(item)
    for name, group in by_kind.items():
        kind = kinds.get(name)
        if kind is None:
            continue
        if kind.render_many is not None:
            many = await kind.render_many(session, group, person, record)  # type: ignore[arg-type]
            rendered.extend([many] if many is not None else [])
            continue
        for item in group:
            one = await kind.render(session, item, person, record)  # type: ignore[arg-type]
            if one is not None:
                rendered.append(one)
    return rendered


def fallback_text(rendered: list[Rendered]) -> str:
    if len(rendered) == 1:
        return rendered[0].text
    return f"allybot: {len(rendered)} things for today. " + rendered[0].text


async def send_due(
    bot: AllyBot,
    *,
    clocks: Subquery,
    now: datetime,
    batch: int = 200,
    concurrency: int = 20,
    team_id: str | None = None,
) -> SendResult:
    """Claim and send until nothing due is left; safe to run on many replicas at once."""
    result = SendResult()
    limit = asyncio.Semaphore(concurrency)
    released: list[int] = []
    while not bot.stopping.is_set():  # a process shutting down finishes its batch, no more
        token = str(uuid.uuid4())
        async with bot.db.session() as session:
            result.resent += await outbox.reclaim_expired(
                session, now=now, token=token, limit=batch
            )
            await outbox.claim_new(
                session, clocks=clocks, now=now, token=token, limit=batch, team_id=team_id
            )
        async with bot.db.session() as session:
            messages = await outbox.claimed(session, token=token)
        if not messages:
            break

        async def bounded(dm: DailyMessage) -> None:
            async with limit:
                if bot.stopping.is_set():  # shutting down: hand back what has not started
                    released.append(dm.id)
                    return
                await send_one(bot, dm, now=now, result=result)

        await asyncio.gather(*(bounded(dm) for dm in messages))
        if released:
            async with bot.db.session() as session:
                await outbox.release(session, message_ids=released, now=now)
            logger.info("handed back %d unsent messages for another replica", len(released))
            released.clear()
        if len(messages) < batch:
            break
    if result.resent:
        MESSAGES.labels("resent").inc(result.resent)
        logger.warning("re-sent %d messages whose sender died mid-send", result.resent)
    return result


async def send_one(bot: AllyBot, dm: DailyMessage, *, now: datetime, result: SendResult) -> None:
    """Render a person's due items into one DM and post it; record what happened."""
    with log_context(team=dm.team_id, message=dm.id):
        client = await bot.clients.for_team(dm.team_id)
        people = await directory.lookup(bot.db, client, team_id=dm.team_id, user_ids=[dm.user_id])
        person = people.get(dm.user_id)
        async with bot.db.session() as session:
            items = await outbox.items_of(session, message_id=dm.id)
            if person is None or person.deleted or not items:
                await outbox.cancel(session, message_id=dm.id)
                result.cancelled += 1
                MESSAGES.labels("cancelled").inc()
                return
            rendered = await render_items(session, items, person, True)
            if rendered:
                await outbox.mark_sending(session, message_id=dm.id, now=now)
        if not rendered:
            async with bot.db.session() as session:
                await outbox.cancel(session, message_id=dm.id)
            result.cancelled += 1
            return
        blocks = build_daily_message_blocks(day=dm.local_day, items=[r.blocks for r in rendered])
        try:
            resp = await send_dm(
                client, user_id=dm.user_id, text=fallback_text(rendered), blocks=blocks
            )
        except Exception as exc:
            error = slack_error(exc) if isinstance(exc, SlackApiError) else describe(exc)
            permanent = isinstance(exc, SlackApiError) and error in PERMANENT
            async with bot.db.session() as session:
                status = await outbox.mark_attempt_failed(
                    session, message_id=dm.id, now=now, error=error, permanent=permanent
                )
            outcome = "failed" if status == "failed" else "retry"
            setattr(result, outcome, getattr(result, outcome) + 1)
            result.errors.append(error)
            MESSAGES.labels(outcome).inc()
            logger.warning(
                "daily message not sent: %s", error, extra={"outcome": outcome, "reason": error}
            )
            return
        async with bot.db.session() as session:
            await outbox.mark_sent(
                session, message_id=dm.id, channel_id=resp["channel"], ts=resp["ts"], now=now
            )
        result.sent += 1
        MESSAGES.labels("sent").inc()
        logger.info("daily message sent", extra={"outcome": "sent"})
