"""What Slack says about who already shares a lot, read for an intros round: the profile
fields the workspace's admins named (team or manager, location), and the members of the
channels allybot is in. Only profiles and channel membership are read, never a message.

Both are best effort: a round is matched without them when Slack refuses (the refusal is
logged), since neither decides whether someone can be paired at all.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.db import Database
from bot.models import Workspace
from bot.pairing import Pair, pair_of
from bot.services.intros import fit as intro_fit
from bot.slack import slack_error

logger = logging.getLogger(__name__)

PROFILE_BATCH = 200  # profiles read per round at most: users.profile.get is rate limited
PROFILE_CONCURRENCY = 4
MAX_CHANNELS = 200  # channels looked at per round
CHANNEL_CAP = 200  # a channel with more members than this says little about closeness
FIELD_ID = re.compile(r"^Xf[A-Z0-9]{4,}$")


def _label(text: str) -> str:
    return " ".join(text.split()).casefold()


async def field_ids(client: AsyncWebClient, names: Sequence[str | None]) -> list[str | None]:
    """The id of each field the admins named (by id, or by its label as profiles show it);
    None for a name the workspace has no field for."""
    if all(n is None or FIELD_ID.match(n) for n in names):
        return list(names)
    resp = await client.team_profile_get()
    fields = (resp.get("profile") or {}).get("fields") or []
    by_label = {_label(str(f.get("label") or "")): str(f["id"]) for f in fields if f.get("id")}
    ids = {str(f["id"]) for f in fields if f.get("id")}
    out: list[str | None] = []
    for name in names:
        if name is None:
            out.append(None)
        elif name in ids or FIELD_ID.match(name):
            out.append(name)
        else:
            out.append(by_label.get(_label(name)))
    return out


def _field_value(fields: Mapping[str, Any] | None, field_id: str | None) -> str | None:
    if not fields or field_id is None:
        return None
    entry = fields.get(field_id)
    if not isinstance(entry, Mapping):
        return None
    value = entry.get("value")
    return str(value) if value else None


async def refresh_profiles(
    db: Database,
    client: AsyncWebClient,
    *,
    workspace: Workspace,
    people: Sequence[str],
    now: datetime,
) -> int:
    """Read the named profile fields of up to `PROFILE_BATCH` people whose values are
    missing or old (users.profile.get), and keep them; the rest wait for later rounds.
    Returns how many were read."""
    if not (workspace.intros_team_field or workspace.intros_location_field):
        return 0
    team_field, location_field = await field_ids(
        client, [workspace.intros_team_field, workspace.intros_location_field]
    )
    if team_field is None and location_field is None:
        logger.warning("intros: no profile field matches the names the admins gave")
        return 0
    async with db.session() as session:
        due = await intro_fit.stale_profiles(
            session, team_id=workspace.team_id, people=people, now=now, limit=PROFILE_BATCH
        )
    gate = asyncio.Semaphore(PROFILE_CONCURRENCY)

    async def read(user_id: str) -> intro_fit.ProfileValues | None:
        async with gate:
            try:
                resp = await client.users_profile_get(user=user_id)
            except SlackApiError as exc:
                if slack_error(exc) in ("user_not_found", "user_not_visible"):
                    return intro_fit.ProfileValues(user_id=user_id, team=None, location=None)
                raise
        fields = (resp.get("profile") or {}).get("fields")
        return intro_fit.ProfileValues(
            user_id=user_id,
            team=_field_value(fields, team_field),
            location=_field_value(fields, location_field),
        )

    values = [v for v in await asyncio.gather(*(read(u) for u in due)) if v is not None]
    async with db.session() as session:
        await intro_fit.save_profiles(session, team_id=workspace.team_id, values=values, now=now)
    return len(values)


async def close_pairs(
    client: AsyncWebClient, *, people: Iterable[str], skip_channel: str, threshold: int
) -> frozenset[Pair]:
    """Pairs of `people` who are both members of at least `threshold` of the channels
    allybot is in (users.conversations, conversations.members), leaving out `skip_channel`
    (the intros channel) and channels of more than `CHANNEL_CAP` members."""
    if threshold < 2:
        return frozenset()
    wanted = set(people)
    channels: list[str] = []
    cursor: str | None = None
    while len(channels) < MAX_CHANNELS:
        resp = await client.users_conversations(
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=200,
            cursor=cursor,
        )
        channels += [str(c["id"]) for c in resp.get("channels") or [] if c["id"] != skip_channel]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    shared: Counter[Pair] = Counter()
    for channel in channels[:MAX_CHANNELS]:
        resp = await client.conversations_members(channel=channel, limit=CHANNEL_CAP)
        if (resp.get("response_metadata") or {}).get("next_cursor"):
            continue  # a large channel: everyone is in it
        members = sorted(wanted & {str(m) for m in resp.get("members") or []})
        shared.update(pair_of(a, b) for a, b in itertools.combinations(members, 2))
    return frozenset(p for p, n in shared.items() if n >= threshold)
