"""A person's daily message: their due nudges of every kind, bundled in one DM a day.

The sender claims the day's row (`outbox.claim_new`, which attaches the nudges) and calls
`render` when it sends it; the kinds in `scheduler/kinds/` only plan the nudges.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot import directory, i18n
from bot.blocks import renders
from bot.blocks.nudges import build_daily_message_blocks
from bot.i18n import ngettext
from bot.models import Nudge, OutboxMessage, Person, Workspace
from bot.runtime import AllyBot
from bot.services import people
from scheduler import kinds, outbox
from scheduler.kinds import Rendered
from scheduler.messages import MessageKind, Outgoing, Skip, register


async def render_items(
    session: object, items: list[Nudge], person: Person, record: bool
) -> list[Rendered]:
    """Each item's blocks, in the fixed bundle order of their kinds. An item whose blocks
    Slack would refuse is left out (and logged), never the whole message."""
    order = {k.name: k.order for k in kinds.all_kinds()}
    rendered: list[Rendered] = []
    by_kind: dict[str, list[Nudge]] = {}
    for item in sorted(items, key=lambda n: (order.get(n.kind, 1000), n.id)):
        by_kind.setdefault(item.kind, []).append(item)
    for name, group in by_kind.items():
        kind = kinds.get(name)
        if kind is None:
            continue
        if kind.render_many is not None:
            many = await kind.render_many(session, group, person, record)  # type: ignore[arg-type]
            rendered.extend([many] if many is not None and renders(many.blocks) else [])
            continue
        for item in group:
            one = await kind.render(session, item, person, record)  # type: ignore[arg-type]
            if one is not None and renders(one.blocks):
                rendered.append(one)
    return rendered


def fallback_text(rendered: list[Rendered]) -> str:
    """The notification's text: the one item, or how many there are and the first."""
    if len(rendered) == 1:
        return rendered[0].text
    return ngettext(
        "allybot: {n} thing for today. {first}",
        "allybot: {n} things for today. {first}",
        len(rendered),
        first=rendered[0].text,
    )


async def render(
    bot: AllyBot, client: AsyncWebClient, row: OutboxMessage, now: datetime
) -> Outgoing | Skip:
    """The person's due items as one DM, rendered (and recorded) as it is sent, in the
    person's language as it is then (their choice, their Slack locale, the workspace's)."""
    assert row.user_id is not None and row.local_day is not None
    found = await directory.lookup(bot.db, client, team_id=row.team_id, user_ids=[row.user_id])
    person = found.get(row.user_id)
    async with bot.db.session() as session:
        items = await outbox.items_of(session, message_id=row.id)
        if person is None or person.deleted or not items:
            return Skip("nobody to message")
        workspace = await session.get(Workspace, row.team_id)
        with i18n.speaking(people.language_of(person, workspace)):
            rendered = await render_items(session, items, person, True)
            if not rendered:
                return Skip("nothing left to say")
            blocks = build_daily_message_blocks(
                day=row.local_day, items=[r.blocks for r in rendered]
            )
            text = fallback_text(rendered)
    return Outgoing(text=text, blocks=blocks, user_id=row.user_id)


register(MessageKind(name=outbox.DAILY, render=render))
