"""Profiles of the people a request names, from allybot's cache or Slack's users.info."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.ids import erased
from bot.models import Person
from bot.services import people
from bot.slack import slack_error


async def lookup(
    db: Database,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_ids: Iterable[str],
    cache: dict[str, Person] | None = None,
) -> dict[str, Person]:
    """People by id; an id Slack does not know is absent from the answer. With `cache` (one
    delivery's people, see `Work.people`), people already in it are not read again, and
    those read are added to it. Someone who erased their data is never looked up: their
    stand-in id is nobody Slack knows, so they are absent too."""
    ids = [uid for uid in dict.fromkeys(user_ids) if not erased(uid)]
    cached = {uid: cache[uid] for uid in ids if cache is not None and uid in cache}
    rest = [uid for uid in ids if uid not in cached]
    if not rest:
        return cached
    now = datetime.now(UTC)
    async with db.session() as session:
        known = await people.get_people(session, team_id=team_id, user_ids=rest)
    found = await complete(db, client, team_id=team_id, user_ids=rest, known=known, now=now)
    if cache is not None:
        cache.update(found)
    return {**cached, **found}


async def complete(
    db: Database,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_ids: list[str],
    known: dict[str, Person],
    now: datetime,
    engaged: str | None = None,
    stored: Iterable[str] = (),
) -> dict[str, Person]:
    """`known` (read from the cache table) with the missing or stale profiles fetched from
    Slack's users.info and saved, the others read again in the same transaction; nothing is
    called or written when all are fresh.
    `engaged`: someone to mark as using allybot in the same transaction as the save (their
    workspace row exists). `stored`: others known to be stored (read earlier): they, like
    `known`, are refreshed only while still stored (people.save_profiles)."""
    fresh = await fetch(client, team_id=team_id, user_ids=user_ids, known=known, now=now)
    if fresh is None:
        return known
    async with db.session() as session:
        return await save_and_read(
            session,
            team_id=team_id,
            profiles=fresh,
            user_ids=user_ids,
            stored={*known, *stored},
            now=now,
            engaged=engaged,
        )


async def save_and_read(
    session: AsyncSession,
    *,
    team_id: str,
    profiles: list[people.Profile],
    user_ids: Iterable[str],
    stored: Iterable[str],
    now: datetime,
    engaged: str | None = None,
) -> dict[str, Person]:
    """The profiles fetched from Slack saved (those `stored` before the call refreshed only
    while still stored: people.save_profiles), and everyone else of `user_ids` read again in
    the same transaction: what was read before the call is not what decides (someone may
    have erased their data, or changed a preference, meanwhile)."""
    saved = await people.save_profiles(
        session, team_id=team_id, profiles=profiles, now=now, engaged=engaged, stored={*stored}
    )
    rest = [uid for uid in user_ids if uid not in saved]
    found = await people.get_people(session, team_id=team_id, user_ids=rest)
    return {**found, **saved}


async def fetch(
    client: AsyncWebClient,
    *,
    team_id: str,
    user_ids: list[str],
    known: dict[str, Person],
    now: datetime,
) -> list[people.Profile] | None:
    """The missing or stale profiles among `user_ids`, from Slack's users.info, for the
    caller to save (people.save_profiles) in a transaction of its own choosing; None when
    all are fresh (an id Slack does not know has no profile)."""
    stale = people.stale_ids(known, user_ids, now)
    if not stale:
        return None
    answers = await asyncio.gather(*(_users_info(client, uid) for uid in stale))
    return [
        people.Profile.from_slack(user, installation=team_id)
        for user in answers
        if user is not None
    ]


async def refresh(
    db: Database, client: AsyncWebClient, *, team_id: str, user_id: str
) -> Person | None:
    """One person's profile asked of Slack now (users.info), whatever the cache holds: for
    checks that must reflect this moment, such as an admin's right to save."""
    user = await _users_info(client, user_id)
    if user is None:
        return None
    async with db.session() as session:
        saved = await people.save_profiles(
            session,
            team_id=team_id,
            profiles=[people.Profile.from_slack(user, installation=team_id)],
            now=datetime.now(UTC),
        )
    return saved.get(user_id)


async def _users_info(client: AsyncWebClient, user_id: str) -> dict[str, Any] | None:
    try:
        resp = await client.users_info(user=user_id, include_locale=True)
    except SlackApiError as exc:
        if slack_error(exc) in ("user_not_found", "user_not_visible"):
            return None
        raise
    user = resp.get("user")
    return dict(user) if user else None


async def channel_members(client: AsyncWebClient, channel_id: str) -> list[str]:
    """Every member of a channel, page by page (conversations.members)."""
    members: list[str] = []
    cursor = None
    while True:
        resp = await client.conversations_members(channel=channel_id, limit=1000, cursor=cursor)
        members.extend(str(m) for m in resp.get("members") or [])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return members
