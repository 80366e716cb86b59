"""A person's daily message: their due nudges of every kind, bundled in one DM a day.

The sender claims the day's row (`outbox.claim_new`, which attaches the nudges) and renders
it when it sends it, many rows together (`prepare`, then `render_in`); the kinds in
`scheduler/kinds/` only plan the nudges.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import directory, i18n
from bot.blocks import renders
from bot.blocks.nudges import build_daily_message_blocks
from bot.i18n import ngettext
from bot.models import Nudge, OutboxMessage, Person, Workspace
from bot.runtime import AllyBot
from bot.services import people
from scheduler import kinds, outbox
from scheduler.kinds import Rendered
from scheduler.messages import Batched, ClientFn, MessageKind, Outgoing, Skip, register


async def render_items(
    session: object,
    items: list[Nudge],
    person: Person,
    record: bool,
    ready: dict[int, Rendered | None] | None = None,
) -> list[Rendered]:
    """Each item's blocks, in the fixed bundle order of their kinds (`ready`: items already
    rendered with others' by their kind's `render_group`). An item whose blocks Slack would
    refuse is left out (and logged), never the whole message."""
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
            if ready is not None and item.id in ready:
                one = ready[item.id]
            else:
                one = await kind.render(session, item, person, record)  # type: ignore[arg-type]
            if one is not None and renders(one.blocks):
                rendered.append(one)
    return rendered


async def render_groups(
    session: AsyncSession, items: list[tuple[Nudge, Person, str]]
) -> dict[int, Rendered | None]:
    """The items whose kinds render many people's at once, kind by kind, by item id."""
    by_kind: dict[str, list[tuple[Nudge, Person, str]]] = {}
    for entry in items:
        by_kind.setdefault(entry[0].kind, []).append(entry)
    ready: dict[int, Rendered | None] = {}
    for name, entries in by_kind.items():
        kind = kinds.get(name)
        if kind is not None and kind.render_group is not None:
            ready.update(await kind.render_group(session, entries, True))
    return ready


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


People = dict[tuple[str, str], Person]


async def prepare(bot: AllyBot, client_for: ClientFn, rows: list[OutboxMessage]) -> People:
    """The people the rows go to, from the profile cache or, when stale, Slack's users.info
    (outside any transaction): one read per workspace for the whole group."""
    by_team: dict[str, list[str]] = {}
    for row in rows:
        assert row.user_id is not None
        by_team.setdefault(row.team_id, []).append(row.user_id)
    found: People = {}
    for team_id, user_ids in by_team.items():
        client = await client_for(team_id)
        known = await directory.lookup(bot.db, client, team_id=team_id, user_ids=user_ids)
        found.update(((team_id, uid), person) for uid, person in known.items())
    return found


async def render_in(
    session: AsyncSession, rows: list[OutboxMessage], found: People, now: datetime
) -> dict[int, Outgoing | Skip]:
    """Each person's due items as one DM, rendered (and recorded) as it is sent, in the
    person's language as it is then (their choice, their Slack locale, the workspace's);
    the items and workspaces of the whole group in one read each, and the items of a kind
    that renders in groups (tips) together."""
    items = await outbox.items_of(session, message_ids=[row.id for row in rows])
    teams = {row.team_id for row in rows}
    workspaces = {
        w.team_id: w
        for w in (await session.execute(select(Workspace).where(Workspace.team_id.in_(teams))))
        .scalars()
        .all()
    }
    out: dict[int, Outgoing | Skip] = {}
    todo: list[tuple[OutboxMessage, Person, str]] = []
    for row in rows:
        person = found.get((row.team_id, str(row.user_id)))
        if person is None or person.deleted or not items.get(row.id):
            out[row.id] = Skip("nobody to message")
        else:
            todo.append((row, person, people.language_of(person, workspaces.get(row.team_id))))
    ready = await render_groups(
        session, [(item, person, lang) for row, person, lang in todo for item in items[row.id]]
    )
    for row, person, lang in todo:
        assert row.local_day is not None
        with i18n.speaking(lang):
            rendered = await render_items(session, items[row.id], person, True, ready)
            if not rendered:
                out[row.id] = Skip("nothing left to say")
                continue
            blocks = build_daily_message_blocks(
                day=row.local_day, items=[r.blocks for r in rendered]
            )
            out[row.id] = Outgoing(text=fallback_text(rendered), blocks=blocks, user_id=row.user_id)
    return out


async def render(
    bot: AllyBot, client: AsyncWebClient, row: OutboxMessage, now: datetime
) -> Outgoing | Skip:
    """One row alone (the sender renders daily messages in groups, through `render_in`)."""

    async def same_client(team_id: str) -> AsyncWebClient:
        return client

    found = await prepare(bot, same_client, [row])
    async with bot.db.session() as session:
        return (await render_in(session, [row], found, now))[row.id]


register(
    MessageKind(
        name=outbox.DAILY, render=render, batched=Batched(prepare=prepare, render=render_in)
    )
)
