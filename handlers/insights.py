"""`/ally me` (a person's own figures) and `/ally report` (the workspace report, admins only),
both answered privately."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.admins import is_workspace_admin
from bot.blocks.insights import build_me_blocks, build_report_blocks, me_text, report_fallback
from bot.blocks.kudos import build_notice_blocks
from bot.i18n import N_, _
from bot.inbox import Work
from bot.services import insights, report

NOT_ADMIN = N_(
    "The workspace report is for Slack admins and owners of this workspace. "
    "`/ally me` shows your own figures, privately."
)


async def ally_me(work: Work, rest: str) -> None:
    """The person's four figures, with trends, meanings and suggestions."""
    async with work.db.session() as session:
        mine = await insights.person_insights(
            session, team_id=work.team_id, user_id=work.user_id, now=work.now()
        )
    await work.respond(me_text(mine), blocks=build_me_blocks(mine))


async def ally_report(work: Work, rest: str) -> None:
    """Counts only, never names; anyone but an admin or owner is told so, privately."""
    if not await is_workspace_admin(
        work.db, work.client, team_id=work.team_id, user_id=work.user_id
    ):
        refusal = _(NOT_ADMIN)
        await work.respond(refusal, blocks=build_notice_blocks(refusal))

        return
    async with work.db.session() as session:
        built = await report.build(session, team_id=work.team_id, until=work.now())
    await work.respond(report_fallback(built), blocks=build_report_blocks(built))


INSIGHTS_FEATURES: dict[str, Callable[[Work, str], Awaitable[None]]] = {
    "me": ally_me,
    "report": ally_report,
}
