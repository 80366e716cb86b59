"""Seeding and in-process helpers shared by the scheduler tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from allybot.app import AllyBot, create_app
from bot.db import Database
from bot.models import Inbound, Kudos, Nudge, OutboxMessage, Person, Workspace
from bot.services import workspace_settings
from bot.services.people import ensure_workspace
from bot.settings import Settings
from bot.slack import SlackClients
from scheduler.kinds import NudgeKind, PlanContext, Rendered, insert_planned
from scheduler.zones import deliverable
from tests.slack_double import SlackDouble

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"


def a_kudos(
    team_id: str,
    giver_id: str,
    receiver_id: str,
    *,
    at: datetime | None = None,
    key: str | None = None,
    **more: Any,
) -> Kudos:
    """A stored kudos as `/kudos` leaves it, for a test's history (add it to a session)."""
    return Kudos(
        team_id=team_id,
        giver_id=giver_id,
        receiver_id=receiver_id,
        text="thanks",
        tags=[],
        source="command",
        source_key=key or new_id("k"),
        created_at=at or datetime.now(UTC),
        **more,
    )


async def settled(db: Database, *team_ids: str, timeout: float = 20.0) -> None:
    """Until every delivery recorded for these workspaces has been worked on. allybot records
    a delivery before it acks and works on it only then (an event it does not record it
    forgets), so once the posts are answered and this returns, nothing more is coming from
    them: a test that proves something did not happen waits for the work, not for a fixed
    time."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.session() as session:
            pending = (
                await session.execute(
                    select(Inbound.kind, Inbound.attempts, Inbound.error).where(
                        Inbound.team_id.in_(team_ids), Inbound.status == "pending"
                    )
                )
            ).all()
        if not pending:
            return
        assert time.monotonic() < deadline, f"deliveries still pending: {pending}"
        await asyncio.sleep(0.02)


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:10].upper()


async def seed_people(
    db: Database,
    slack: SlackDouble | None,
    *,
    team_id: str,
    people: Sequence[dict[str, Any]],
) -> list[str]:
    """People who use allybot, with the given preferences; known to the double too."""
    ids: list[str] = []
    now = datetime.now(UTC)
    async with db.session() as session:
        await ensure_workspace(session, team_id=team_id)
        for spec in people:
            spec = dict(spec)
            user_id = spec.pop("user_id", None) or new_id("U")
            spec.setdefault("tz", "Europe/London")
            spec.setdefault("engaged_at", now)
            spec.setdefault("profile_refreshed_at", now)
            session.add(Person(team_id=team_id, user_id=user_id, **spec))
            if slack is not None:
                slack.add_user(user_id, team_id=team_id, tz=spec["tz"])
            ids.append(user_id)
    return ids


def settings_for(database_url: str, slack: SlackDouble) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_url=slack.url,
        database_url=database_url,
    )


@asynccontextmanager
async def running_bot(
    database_url: str, slack: SlackDouble, settings: Settings | None = None
) -> AsyncIterator[AllyBot]:
    """allybot in this process, against the double, with fast retry backoff."""
    settings = settings or settings_for(database_url, slack)
    fast = FixedValueRetryIntervalCalculator(0.01)
    idle = _IDLE_DATABASES.setdefault(str(settings.database_url), [])
    db = idle.pop() if idle else Database(settings.database_url)
    bot = create_app(settings, db=db, clients=SlackClients(settings, retry_interval=fast))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.close()  # its pool closed, its compiled statements kept
        idle.append(db)


# The databases (engines) of the bots that ran, by URL, for the next bot on that URL: an
# engine keeps the statements SQLAlchemy compiled for it, which a new engine compiles again
# (the largest part of an in-process test's CPU, under cProfile), where a long-running
# allybot compiles each once. Two bots at once on one URL (two replicas) get one each.
_IDLE_DATABASES: dict[str, list[Database]] = {}


async def nudges_of(db: Database, team_id: str) -> list[Nudge]:
    async with db.session() as session:
        stmt = select(Nudge).where(Nudge.team_id == team_id).order_by(Nudge.id)
        return list((await session.execute(stmt)).scalars())


async def messages_of(db: Database, team_id: str) -> list[OutboxMessage]:
    async with db.session() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.team_id == team_id)
        return list((await session.execute(stmt.order_by(OutboxMessage.id))).scalars())


def at(local: str, tz: str) -> datetime:
    """An instant given as local wall time in a zone: at('2026-11-26 09:05', 'Asia/Tokyo')."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


async def set_intros(
    session: Any, *, team_id: str, channel_id: str | None, cadence_weeks: int = 2
) -> None:
    """An admin's intros settings, through the same service the admin modal saves with."""
    await workspace_settings.apply(
        session,
        team_id=team_id,
        settings=workspace_settings.WorkspaceSettings(
            intros_channel=channel_id, intros_cadence=cadence_weeks
        ),
        changed_by="test",
        now=datetime.now(UTC),
    )


def item_kind(
    name: str,
    order: int,
    team: str,
    user: str,
    label: str,
    *,
    looks: bool = False,
    first: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> NudgeKind:
    """A kind for a test (register it, and unregister it after): one item a day for `user`,
    reading "{label} is due"; `first` runs in the planning transaction before it plans."""

    async def plan(session: AsyncSession, ctx: PlanContext) -> int:
        if first is not None:
            await first(session)
        c = ctx.clocks
        rows = (
            select(
                Person.team_id,
                Person.user_id,
                literal(name),
                literal(label),
                c.c.day,
                c.c.local_day,
                c.c.local_day,
            )
            .join(c, c.c.tz == Person.tz)
            .join(Workspace, Workspace.team_id == Person.team_id)
            .where(Person.team_id == team, Person.user_id == user, deliverable(c, ctx.now))
        )
        return await insert_planned(session, rows, ctx.now)

    async def render(session: AsyncSession, nudge: Nudge, person: Person, record: bool) -> Rendered:
        from bot.blocks.kudos import build_notice_blocks

        return Rendered(text=f"{label} is due", blocks=build_notice_blocks(f"*{label}* is due"))

    return NudgeKind(name=name, order=order, plan=plan, render=render, looks=looks)
