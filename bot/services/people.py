"""People and workspaces as allybot knows them: cached Slack profile facts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, and_, bindparam, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from bot import i18n
from bot import text as texts
from bot.db import dialect_of, insert_for
from bot.models import Person, Workspace
from bot.on_driver import OnDriver, detached
from bot.services import dm_budget
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
        name = profile.get("display_name") or user.get("real_name") or user.get("name")
        return cls(
            user_id=str(user["id"]),
            name=_one_line(str(name)) if name else None,
            tz=tz,
            is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
            deleted=bool(user.get("deleted")),
            is_admin=bool(user.get("is_admin")),
            is_owner=bool(user.get("is_owner")) or bool(user.get("is_primary_owner")),
            locale=str(user["locale"])[:16] if user.get("locale") else None,
        )


# people.name's length; Slack's own display names stop at 80 characters.
MAX_NAME = 200


def _one_line(name: str) -> str | None:
    """A name as kept: as a reader sees it (bot.text.clean: no control characters, which
    PostgreSQL would refuse to store, NUL first), on one line, cut to the column."""
    return " ".join(texts.clean(name).split())[:MAX_NAME] or None


async def ensure_workspace(
    session: AsyncSession, *, team_id: str, enterprise_id: str | None = None
) -> Workspace:
    """The workspace row, created with default settings on first sight, held by the session
    as if loaded through it (read on the driver: no ORM query)."""
    held = session.sync_session.identity_map.get(identity_key(Workspace, team_id))
    if held is not None:
        return held
    found = await _WORKSPACE.rows(session, {"team_id": team_id})
    if not found:  # the usual case is one primary-key read, no write
        stmt = insert_for(session, Workspace).values(
            team_id=team_id, enterprise_id=enterprise_id, custom_tags=[]
        )
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["team_id"]))
        found = await _WORKSPACE.rows(session, {"team_id": team_id})
    workspace = detached(Workspace, _WORKSPACE_KEYS, found[0])
    session.add(workspace)  # taken as stored, as session.get would have: a change is saved
    return workspace


_WORKSPACES = cast(Table, Workspace.__table__)
_WORKSPACE = OnDriver(select(_WORKSPACES).where(_WORKSPACES.c.team_id == bindparam("team_id")))
_WORKSPACE_KEYS = tuple(
    Workspace.__mapper__.get_property_by_column(column).key for column in _WORKSPACES.c
)


async def ensure_person(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    now: datetime,
    workspace_known: bool = False,
) -> None:
    """A row for this person (and their workspace, unless the caller knows it exists),
    marked as someone who uses allybot."""
    if not workspace_known:
        await ensure_workspace(session, team_id=team_id)
    params = {"team_id": team_id, "user_id": user_id, "now": now}
    await session.execute(_ENGAGE[dialect_of(session)], params)


async def hold(session: AsyncSession, *, team_id: str, user_ids: Iterable[str]) -> None:
    """These people's locks taken shared (PostgreSQL), before this transaction writes
    anything about them: an erase of one of them under way (privacy.erase) is waited for."""
    keys = [dm_budget.person_key(team_id, uid) for uid in dict.fromkeys(user_ids)]
    await dm_budget.lock(session, [], shared=keys)


async def get_people(
    session: AsyncSession, *, team_id: str, user_ids: Iterable[str]
) -> dict[str, Person]:
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    found = await session.execute(_PEOPLE, {"team_id": team_id, "user_ids": ids})
    return {p.user_id: p for p in found.scalars()}


# Built once: nearly every delivery reads people.
_PEOPLE = select(Person).where(
    Person.team_id == bindparam("team_id"),
    Person.user_id.in_(bindparam("user_ids", expanding=True)),
)


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


async def get_workspaces_and_pairs(
    session: AsyncSession, *, team_ids: Collection[str], pairs: Collection[tuple[str, str]]
) -> tuple[dict[str, Workspace], dict[tuple[str, str], Person]]:
    """Workspace rows by team id and people by (team id, user id), across workspaces, in one
    read (people of a workspace not yet stored are not read)."""
    if not team_ids:
        return {}, {}
    pairs = list(pairs)
    params = {
        "team_ids": list(team_ids),
        "user_ids": list(dict.fromkeys(user_id for _, user_id in pairs)),
        "pairs": pairs,
    }
    workspaces: dict[str, Workspace] = {}
    found: dict[tuple[str, str], Person] = {}
    for workspace, person in await session.execute(_WORKSPACES_AND_PAIRS, params):
        workspaces[workspace.team_id] = workspace
        if person is not None:
            found[(person.team_id, person.user_id)] = person
    return workspaces, found


# The people are found by their whole key, (team, user IN …): SQLite reads a pair list
# `(team_id, user_id) IN (…)` in a join's condition with the team alone, every person of the
# workspace (25 ms a read with 100,000 of them; benchmarks/README.md, flat with history). The
# pairs then keep, across workspaces, only the people asked for.
_WORKSPACES_AND_PAIRS = (
    select(Workspace, Person)
    .outerjoin(
        Person,
        and_(
            Person.team_id == Workspace.team_id,
            Person.user_id.in_(bindparam("user_ids", expanding=True)),
            tuple_(Person.team_id, Person.user_id).in_(bindparam("pairs", expanding=True)),
        ),
    )
    .where(Workspace.team_id.in_(bindparam("team_ids", expanding=True)))
)


async def save_profiles(
    session: AsyncSession,
    *,
    team_id: str,
    profiles: Sequence[Profile],
    now: datetime,
    engaged: str | None = None,
    stored: Collection[str] = (),
) -> dict[str, Person]:
    """Insert or refresh cached profiles in one statement, keeping preferences; the rows as
    saved, by user id (no read back). `engaged`: one of them who uses allybot themselves,
    marked so in the same statement (see ensure_person). `stored`: those whose rows were
    read before Slack was asked; each is refreshed only while its row is still there, so
    someone who erased their data during the call is not stored again (absent from the
    answer)."""
    if not profiles:
        return {}
    rows = [
        {
            **_DEFAULTS,
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
            "engaged_at": now if p.user_id == engaged else None,
        }
        # In one order everywhere: two deliveries saving the same people at once (ann's
        # kudos to cy, cy's to ann) take their rows' locks in the same order, so neither
        # waits for the other in a deadlock (PostgreSQL).
        for p in sorted(profiles, key=lambda p: p.user_id)
    ]
    new = [row for row in rows if row["user_id"] not in stored]
    saved = await _SAVE_PROFILES[dialect_of(session)].many(session, new)
    again = [{f"p_{k}": row[k] for k in _REFRESHED} for row in rows if row["user_id"] in stored]
    saved.extend(await _REFRESH.many(session, again))
    return {p.user_id: p for p in (detached(Person, _PERSON_KEYS, row) for row in saved)}


PROFILE_FIELDS = (
    "name",
    "tz",
    "is_bot",
    "deleted",
    "is_admin",
    "is_owner",
    "external",
    "profile_refreshed_at",
)


def _engage_statement(insert: Any) -> Any:
    people = Person.__table__
    stmt = insert(people).values(
        team_id=bindparam("team_id"),
        user_id=bindparam("user_id"),
        engaged_at=bindparam("now"),
        created_at=bindparam("now"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["team_id", "user_id"],
        set_={"engaged_at": func.coalesce(people.c.engaged_at, stmt.excluded.engaged_at)},
    )


_PEOPLE_TABLE = cast(Table, Person.__table__)
_PERSON_KEYS = tuple(
    Person.__mapper__.get_property_by_column(column).key for column in _PEOPLE_TABLE.c
)
# A new person's settings as the model's defaults give them (SQLAlchemy's execution fills
# them in; the driver's does not), among the upsert's parameters.
_DEFAULTS = {
    c.key: c.default.arg  # type: ignore[attr-defined]
    for c in _PEOPLE_TABLE.c
    if c.default is not None and c.default.is_scalar
}


def _save_statement(insert: Any) -> OnDriver:
    """Core on the table with the rows saved returned, not the ORM's bulk INSERT."""
    people = _PEOPLE_TABLE
    stmt = insert(people)
    updates: dict[str, Any] = {f: stmt.excluded[f] for f in PROFILE_FIELDS}
    # An event's user object carries no locale: keep the one users.info gave.
    updates["slack_locale"] = func.coalesce(stmt.excluded.slack_locale, people.c.slack_locale)
    updates["engaged_at"] = func.coalesce(people.c.engaged_at, stmt.excluded.engaged_at)
    upsert = stmt.on_conflict_do_update(index_elements=["team_id", "user_id"], set_=updates)
    return OnDriver(upsert.returning(*people.c))


def _refresh_statement() -> OnDriver:
    """A stored profile refreshed as the upsert refreshes it, only while the row exists
    (parameters `p_<column>`: a SET clause's own names are reserved)."""
    people = _PEOPLE_TABLE
    updates: dict[str, Any] = {f: bindparam(f"p_{f}") for f in PROFILE_FIELDS}
    updates["slack_locale"] = func.coalesce(bindparam("p_slack_locale"), people.c.slack_locale)
    updates["engaged_at"] = func.coalesce(people.c.engaged_at, bindparam("p_engaged_at"))
    return OnDriver(
        update(people)
        .where(
            people.c.team_id == bindparam("p_team_id"), people.c.user_id == bindparam("p_user_id")
        )
        .values(**updates)
        .returning(*people.c)
    )


_REFRESH = _refresh_statement()
_REFRESHED = ("team_id", "user_id", *PROFILE_FIELDS, "slack_locale", "engaged_at")
# Built once per backend: an upsert's `excluded` alias is costly to build each time.
_ENGAGE = {"postgresql": _engage_statement(pg_insert), "sqlite": _engage_statement(sqlite_insert)}
_SAVE_PROFILES = {
    "postgresql": _save_statement(pg_insert),
    "sqlite": _save_statement(sqlite_insert),
}


def language_of(person: Person | None, workspace: Workspace | None) -> str:
    """The language to speak to a person: their own choice, else Slack's locale, else the
    workspace's default, else English (the first of these allybot speaks)."""
    return i18n.choose(
        person.language if person is not None else None,
        person.slack_locale if person is not None else None,
        workspace.language if workspace is not None else None,
    )


def common_language(members: Iterable[Person | None], workspace: Workspace | None) -> str:
    """A group's language (an intros group DM): the one every member reads allybot in, else
    the workspace's default (also when a member is unknown)."""
    found = {language_of(p, workspace) if p is not None else None for p in members}
    if len(found) == 1 and None not in found:
        return str(found.pop())
    return i18n.choose(workspace.language if workspace is not None else None)


def slack_language(person: Person | None, workspace: Workspace | None) -> str:
    """The language a person gets when they follow Slack's: their Slack locale's, else the
    workspace's default (what "Slack's language" means in the language picker)."""
    return i18n.choose(
        person.slack_locale if person is not None else None,
        workspace.language if workspace is not None else None,
    )


async def set_home_hash(
    session: AsyncSession, *, team_id: str, user_id: str, home_hash: str | None
) -> None:
    """The hash Slack gave the Home just published for them: the next publish sends it."""
    await session.execute(
        update(Person)
        .where(Person.team_id == team_id, Person.user_id == user_id)
        .values(home_hash=home_hash)
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
