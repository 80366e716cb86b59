"""What nearly every handler reads first, read ahead for the deliveries that start together:
their workspaces, the person who acted and the people their text mentions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot import text as texts
from bot.db import Database
from bot.ids import erased
from bot.models import Person, Workspace
from bot.services import inbound, people

logger = logging.getLogger(__name__)


class Delivery(Protocol):
    """A delivery as the read-ahead needs it: a stored row, or one just recorded."""

    @property
    def id(self) -> int: ...
    @property
    def team_id(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...


MAX_PRELOADED = 20  # people a delivery's text mentions, read with its claim


@dataclass
class Known:
    """Read with a claim, in its transaction, for the handlers: each delivery's workspace,
    the person who acted and the people its text mentions (those whose cached profile is
    fresh)."""

    workspaces: dict[str, Workspace]
    people: dict[int, list[Person]]  # by delivery
    looked_up: dict[int, list[str]]  # by delivery: whom it looked for, found or not
    stored: dict[int, list[str]]  # by delivery: those of them found, fresh or stale


def actor_of(body: dict[str, Any]) -> str | None:
    """Who pressed or typed, when the payload names them at its top (events carry them
    elsewhere)."""
    user = body.get("user_id") or body.get("user")
    found = user.get("id") if isinstance(user, dict) else user
    return str(found) if found else None


def named_in(body: dict[str, Any]) -> list[str]:
    """Whom a payload names: who acted (for an event, who wrote or reacted), then who its
    text mentions (a kudos' receivers)."""
    event = body.get("event")
    event = event if isinstance(event, dict) else {}
    text = body.get("text") or event.get("text")
    mentioned = texts.mentioned(text)[:MAX_PRELOADED] if isinstance(text, str) else []
    author = event.get("user")
    found = [actor_of(body) or (str(author) if isinstance(author, str) else None), *mentioned]
    return [u for u in dict.fromkeys(found) if u is not None and not erased(u)]


async def preload(session: AsyncSession, rows: Iterable[Delivery]) -> Known:
    """What nearly every handler reads first, read in the claim's transaction instead of a
    transaction of its own."""
    rows = [r for r in rows if r.payload]
    teams = {r.team_id for r in rows}
    named = {r.id: [(r.team_id, u) for u in named_in(r.payload or {})] for r in rows}
    workspaces, found = await people.get_workspaces_and_pairs(
        session, team_ids=teams, pairs={p for ps in named.values() for p in ps}
    )
    # People of a workspace not stored yet were not read: not looked for.
    named = {i: [p for p in pairs if p[0] in workspaces] for i, pairs in named.items()}
    now = datetime.now(UTC)
    fresh = {pair: person for pair, person in found.items() if people.is_fresh(person, now)}
    return Known(
        workspaces=workspaces,
        people={i: [fresh[p] for p in pairs if p in fresh] for i, pairs in named.items()},
        # Read as the work starts (Inbox._run_batch): someone missing is not read again
        # before Slack is asked for their profile.
        looked_up={i: [p[1] for p in pairs] for i, pairs in named.items()},
        stored={i: [p[1] for p in pairs if p in found] for i, pairs in named.items()},
    )


@dataclass(frozen=True)
class _ReadBack:
    """A delivery read back by id, as `preload` needs it."""

    id: int
    team_id: str
    payload: dict[str, Any] | None


async def ahead(db: Database, batch: Sequence[Delivery]) -> Known | None:
    """`preload` for deliveries just recorded, as the first of them starts; None when it
    fails (each handler then reads what it needs for itself). Its reads need no snapshot in
    common (`Database.reading`)."""
    try:
        async with db.reading() as session:
            return await preload(session, batch)
    except Exception:
        logger.exception("could not read ahead for deliveries just recorded")
        return None


async def back(
    db: Database, group: Sequence[Delivery]
) -> tuple[dict[int, dict[str, Any]], Known | None]:
    """The payloads of those of a group that waited without them in memory (a burst), by id
    and claimed at birth (one missing is no longer this process's: taken over, or erased),
    with what their handlers read first (`preload`) in the same session."""
    held = [(f.id, inbound.CLAIMED_AT_BIRTH) for f in group if not f.payload]
    try:
        async with db.reading() as session:
            payloads = await inbound.payloads_of(session, held=held)
            rows = [_ReadBack(f.id, f.team_id, payloads.get(f.id)) for f in group if not f.payload]
            return payloads, await preload(session, rows)
    except Exception:
        logger.exception("could not read ahead for deliveries read back")
    async with db.reading() as session:  # each handler reads what it needs for itself
        return await inbound.payloads_of(session, held=held), None
