"""Which language a dashboard page is written in: the signed-in person's (their own choice,
else their Slack locale, else their workspace's default), a workspace's default where there
is no person yet, and the browser's Accept-Language before anyone has signed in."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.models import Person, Workspace
from bot.services import people

# A header longer than this is cut: a browser sends a few dozen characters.
MAX_HEADER = 1_000


def _quality(params: list[str]) -> float:
    for param in params:
        name, _sep, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def browser_language(header: str | None) -> str | None:
    """The shipped language the browser prefers most (Accept-Language, q-values honoured,
    ties in the order given), or None when it names none allybot speaks."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header[:MAX_HEADER].split(",")):
        tag, *params = item.split(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        found = i18n.shipped(tag)
        quality = _quality(params)
        if found is not None and quality > 0:
            ranked.append((-quality, index, found))
    return min(ranked)[2] if ranked else None


async def reader(session: AsyncSession, *, team_id: str, user_id: str) -> str:
    """The signed-in person's language (the workspace's default when allybot has no record
    of them)."""
    person = await session.get(Person, (team_id, user_id))
    workspace = await session.get(Workspace, team_id)
    return people.language_of(person, workspace)


async def workspace_default(session: AsyncSession, *, team_id: str) -> str | None:
    """A workspace's default language, if allybot knows the workspace."""
    workspace = await session.get(Workspace, team_id)
    return workspace.language if workspace is not None else None
