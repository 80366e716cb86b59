"""How each member meets: remote, or in person at a place (their own words, or the location
their Slack profile gives when the admins named that field). In-person groups are made only
among people at the same place."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fit_models import IntroProfile
from bot.i18n import _
from bot.models import IntroMember, Workspace
from bot.services.intros.rules import IntrosError
from bot.text import clean, readable, snippet

REMOTE, IN_PERSON = "remote", "in_person"
MAX_PLACE = 60
# Up to this many people, `places` reads only their rows (a group's post, once per group);
# a whole round reads the workspace's rows once and keeps its people.
FEW = 50
# A place as people name it: letters and digits in any script, spaces, and - ' . , / ( ) &.
PLACE = re.compile(r"^\w[\w\s\-'.,/()&]*$")


@dataclass(frozen=True)
class Meeting:
    """A person's way of meeting, as Home and the command show it."""

    mode: str
    place: str | None  # their own words
    profile_place: str | None  # from the profile field the admins named

    @property
    def where(self) -> str | None:
        return self.place or self.profile_place


def remote() -> Meeting:
    return Meeting(mode=REMOTE, place=None, profile_place=None)


def same_place(text: str) -> str:
    """The form two places are compared in: case and spacing don't matter."""
    return " ".join(text.split()).casefold()


def parse_place(text: str, *, markup: bool) -> str | None:
    """A place someone typed (a command's markup or a modal's raw input), as plain words;
    None when empty; `IntrosError` saying what would work otherwise."""
    words = " ".join((readable(clean(text)) if markup else clean(text)).split())
    if not words:
        return None
    if len(words) > MAX_PLACE or not PLACE.match(words):
        raise IntrosError(
            _(
                "`{place}` can't be a place: name it in words (letters, digits, spaces and "
                "- ' . , / ( ) &), at most {most} characters, such as `London office`.",
                place=snippet(words),
                most=MAX_PLACE,
            )
        )
    return words


async def meeting_of(session: AsyncSession, *, team_id: str, user_id: str) -> Meeting:
    row = await session.get(IntroMember, (team_id, user_id))
    profile = await session.get(IntroProfile, (team_id, user_id))
    workspace = await session.get(Workspace, team_id)
    from_profile = (
        profile.location_value
        if profile is not None and workspace is not None and workspace.intros_location_field
        else None
    )
    return Meeting(
        mode=row.meet_mode if row is not None else REMOTE,
        place=row.location if row is not None else None,
        profile_place=from_profile,
    )


async def places(
    session: AsyncSession, *, workspace: Workspace, people: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """In-person people among `people` with a known place: (compared form, as written)."""
    wanted = set(people)
    few = len(wanted) <= FEW  # a group's post: its own rows, not the whole workspace's
    own_stmt = select(IntroMember.user_id, IntroMember.location).where(
        IntroMember.team_id == workspace.team_id, IntroMember.meet_mode == IN_PERSON
    )
    if few:
        own_stmt = own_stmt.where(IntroMember.user_id.in_(wanted))
    own = {u: loc for u, loc in await session.execute(own_stmt) if u in wanted}
    from_profile: dict[str, str | None] = {}
    if workspace.intros_location_field and own:
        profile_stmt = select(IntroProfile.user_id, IntroProfile.location_value).where(
            IntroProfile.team_id == workspace.team_id
        )
        if few:
            profile_stmt = profile_stmt.where(IntroProfile.user_id.in_(own))
        from_profile = {u: v for u, v in await session.execute(profile_stmt) if u in own}
    out: dict[str, tuple[str, str]] = {}
    for user_id, place in own.items():
        written = place or from_profile.get(user_id)
        if written:
            out[user_id] = (same_place(written), written)
    return out


async def group_place(
    session: AsyncSession, *, workspace: Workspace | None, members: Sequence[str]
) -> str | None:
    """The place a group meets in person: everyone meets in person at the same one."""
    if workspace is None or not members:
        return None
    found = await places(session, workspace=workspace, people=members)
    if len(found) != len(set(members)) or len({key for key, _ in found.values()}) != 1:
        return None
    return found[members[0]][1]
