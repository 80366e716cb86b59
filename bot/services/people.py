"""People and workspaces as allybot knows them: cached Slack profile facts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.db import insert_for
from bot.models import Person, Workspace
from bot.tenancy import is_external

PROFILE_TTL = timedelta(days=1)


@dataclass(frozen=True)
class Profile:
    """The facts allybot keeps from Slack's users.info."""

    user_id: str
    name: str | None
    tz: str
    is_bot: bool
    deleted: bool
    is_admin: bool
    is_owner: bool
    external: bool = False
    locale: str | None = None  # only when asked with include_locale

    @classmethod
    def from_slack(cls, user: Mapping[str, Any], *, installation: str | None = None) -> Profile:
        """The facts kept from a users.info `user`. Someone from another organisation (a Slack
        Connect member, seen from `installation`) is kept as Slack presents them and only as
        far as kudos need: their id and whether they are a bot or deactivated; no name,
        time zone or admin flags, and allybot never DMs or nudges them."""
        if installation is not None and is_external(user, installation):
            return cls(
                user_id=str(user["id"]),
                name=None,
                tz="UTC",
                is_bot=bool(user.get("is_bot")),
                deleted=bool(user.get("deleted")),
                is_admin=False,
                is_owner=False,
                external=True,
            )
        profile = user.get("profile") or {}
        tz = str(user.get("tz") or "UTC")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            tz = "UTC"
        return cls(
            user_id=str(user["id"]),
            name=profile.get("display_name") or user.get("real_name") or user.get("name"),
            tz=tz,
            is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
            deleted=bool(user.get("deleted")),
            is_admin=bool(user.get("is_admin")),
            is_owner=bool(user.get("is_owner")) or bool(user.get("is_primary_owner")),
            locale=str(user["locale"])[:16] if user.get("locale") else None,
        )


async def ensure_workspace(
    session: AsyncSession, *, team_id: str, enterprise_id: str | None = None
) -> Workspace:
    """The workspace row, created with default settings on first sight."""
    found = await session.get(Workspace, team_id)
    if found is not None:  # the usual case: one primary-key read, no write
        return found
    stmt = insert_for(session, Workspace).values(
        team_id=team_id, enterprise_id=enterprise_id, custom_tags=[]
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["team_id"]))
    workspace = await session.get(Workspace, team_id)
    assert workspace is not None
    return workspace


async def ensure_person(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> None:
    """A row for this person (and their workspace), marked as someone who uses allybot."""
    await ensure_workspace(session, team_id=team_id)
    stmt = insert_for(session, Person).values(
        team_id=team_id, user_id=user_id, engaged_at=now, created_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "user_id"],
            set_={"engaged_at": func.coalesce(Person.engaged_at, stmt.excluded.engaged_at)},
        )
    )


async def get_people(
    session: AsyncSession, *, team_id: str, user_ids: Iterable[str]
) -> dict[str, Person]:
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    stmt = select(Person).where(Person.team_id == team_id, Person.user_id.in_(ids))
    return {p.user_id: p for p in (await session.execute(stmt)).scalars()}


def stale_ids(people: Mapping[str, Person], user_ids: Iterable[str], now: datetime) -> list[str]:
    """The people whose cached profile is missing or older than a day."""
    return [
        uid
        for uid in dict.fromkeys(user_ids)
        if uid not in people or not is_fresh(people[uid], now)
    ]


def is_fresh(person: Person, now: datetime) -> bool:
    """Whether a cached profile is recent enough to use without asking Slack."""
    refreshed = person.profile_refreshed_at
    return refreshed is not None and now - refreshed <= PROFILE_TTL


async def get_workspaces(
    session: AsyncSession, *, team_ids: Collection[str]
) -> dict[str, Workspace]:
    """Workspace rows by team id (those that exist), in one read."""
    if not team_ids:
        return {}
    stmt = select(Workspace).where(Workspace.team_id.in_(list(team_ids)))
    return {w.team_id: w for w in (await session.execute(stmt)).scalars()}


async def get_pairs(
    session: AsyncSession, *, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], Person]:
    """People by (team id, user id), across workspaces, in one read."""
    if not pairs:
        return {}
    stmt = select(Person).where(tuple_(Person.team_id, Person.user_id).in_(list(pairs)))
    return {(p.team_id, p.user_id): p for p in (await session.execute(stmt)).scalars()}


async def save_profiles(
    session: AsyncSession, *, team_id: str, profiles: Sequence[Profile], now: datetime
) -> None:
    """Insert or refresh cached profiles in one statement, keeping preferences."""
    if not profiles:
        return
    rows = [
        {
            "team_id": team_id,
            "user_id": p.user_id,
            "name": p.name,
            "tz": p.tz,
            "is_bot": p.is_bot,
            "deleted": p.deleted,
            "is_admin": p.is_admin,
            "is_owner": p.is_owner,
            "external": p.external,
            # An event's user object has no locale: users.info is asked again the next time
            # the person is needed, so a language changed in Slack takes effect.
            "profile_refreshed_at": now if p.locale is not None or p.external else None,
            "created_at": now,
            "slack_locale": p.locale,
        }
        for p in profiles
    ]
    stmt = insert_for(session, Person).values(rows)
    fields = (
        "name",
        "tz",
        "is_bot",
        "deleted",
        "is_admin",
        "is_owner",
        "external",
        "profile_refreshed_at",
    )
    updates: dict[str, Any] = {f: stmt.excluded[f] for f in fields}
    # An event's user object carries no locale: keep the one users.info gave.
    updates["slack_locale"] = func.coalesce(stmt.excluded.slack_locale, Person.slack_locale)
    stmt = stmt.on_conflict_do_update(index_elements=["team_id", "user_id"], set_=updates)
    await session.execute(stmt)


def language_of(person: Person | None, workspace: Workspace | None) -> str:
    """The language to speak to a person: their own choice, else Slack's locale, else the
    workspace's default, else English (the first of these allybot speaks)."""
    return i18n.choose(
        person.language if person is not None else None,
        person.slack_locale if person is not None else None,
        workspace.language if workspace is not None else None,
    )


def slack_language(person: Person | None, workspace: Workspace | None) -> str:
    """The language a person gets when they follow Slack's: their Slack locale's, else the
    workspace's default (what "Slack's language" means in the language picker)."""
    return i18n.choose(
        person.slack_locale if person is not None else None,
        workspace.language if workspace is not None else None,
    )


async def mark_home_seen(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> None:
    """The person looks at their Home tab, so it is worth keeping current."""
    await session.execute(
        update(Person)
        .where(Person.team_id == team_id, Person.user_id == user_id)
        .values(home_seen_at=now)
    )
