"""What a pass at an instant would send, computed in a transaction that is rolled back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import i18n, named
from bot.models import Workspace
from bot.runtime import AllyBot
from bot.services import people
from scheduler import kinds
from scheduler.kinds import PlanContext
from scheduler.outbox import due_nudges
from scheduler.zones import clocks_now


@dataclass(frozen=True)
class PreviewLine:
    team_id: str
    user_id: str
    kind: str
    local_time: str
    text: str

    def __str__(self) -> str:
        return f"{self.team_id} {self.user_id} {self.kind:<18} {self.local_time}  {self.text}"


async def preview(bot: AllyBot, *, now: datetime, team_id: str | None = None) -> list[PreviewLine]:
    """Plan as a pass would, render each due item (in its recipient's language, as the
    daily message would be), and keep none of it."""
    lines: list[PreviewLine] = []
    async with bot.db.sessions() as session:
        try:
            clocks = await clocks_now(session, now, team_id=team_id)
            if not clocks:
                return []
            ctx = PlanContext.at(now, clocks, team_id=team_id)
            for kind in kinds.all_kinds():
                await kind.plan(session, ctx)
            rows = (await session.execute(due_nudges(ctx.clocks, now, team_id=team_id))).all()
            for nudge, person, _day in rows:
                nudge_kind = kinds.get(nudge.kind)
                if nudge_kind is None:
                    continue
                workspace = await session.get(Workspace, nudge.team_id)
                with i18n.speaking(people.language_of(person, workspace)):
                    rendered = await nudge_kind.render(session, nudge, person, False)
                if rendered is None:
                    continue
                text = await named.shown_in(session, rendered.text, team_id=nudge.team_id)
                local = now.astimezone(ZoneInfo(person.tz))
                lines.append(
                    PreviewLine(
                        team_id=nudge.team_id,
                        user_id=nudge.user_id,
                        kind=nudge.kind,
                        local_time=f"{local:%a %H:%M} {person.tz}",
                        text=" ".join(text.split()),
                    )
                )
        finally:
            await session.rollback()
    return sorted(lines, key=lambda line: (line.team_id, line.user_id, line.kind))
