"""DMs held back by the daily budget between two people (bot/services/dm_budget.py), told in
the recipient's next daily message.

Nothing is planned here: `dm_budget.admit` inserts the item when it holds a DM back. Each is
rendered from current state (the promise, the kudos), so a promise closed or erased since
says nothing stale, and no text a person wrote is copied into the item.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import mention_list, renders
from bot.blocks.commitments import (
    build_delivered_blocks,
    build_disputed_blocks,
    build_dropped_blocks,
    build_party_blocks,
)
from bot.blocks.kudos import build_kudos_dm_blocks
from bot.i18n import N_, _, ngettext
from bot.models import Commitment, Kudos, Nudge, Person, Workspace
from bot.services.dm_budget import HELD_KIND
from scheduler.kinds import NudgeKind, PlanContext, Rendered, register

SHOWN = 5  # items shown in full; the rest are counted, so one message stays within limits


async def _plan(session: AsyncSession, ctx: PlanContext) -> int:
    return 0


async def _one(session: AsyncSession, item: Nudge, person: Person) -> list[Block] | None:
    ref = item.payload or {}
    kind = str(ref.get("kind", ""))
    if "kudos" in ref:
        row = await session.get(Kudos, int(ref["kudos"]))
        if row is None or row.receiver_id != person.user_id:
            return None
        workspace = await session.get(Workspace, row.team_id)
        return build_kudos_dm_blocks(
            team_id=row.team_id,
            giver_id=row.giver_id,
            channel_id=row.channel_id,
            reason=row.text,
            tags=row.tags,
            emoji=workspace.kudos_emoji if workspace else "raised_hands",
            private_by=row.private_by,
        )
    commitment = await session.get(Commitment, int(ref.get("commitment", 0)))
    if commitment is None or commitment.team_id != item.team_id:
        return None
    match kind:
        case "commitment" | "commitment_update":
            if commitment.status != "open":
                return None  # closed since: the later news says so
            return build_party_blocks(commitment, person.tz)
        case "commitment_done":
            return build_delivered_blocks(commitment)
        case "commitment_drop":
            return build_dropped_blocks(commitment)
        case "commitment_disputed":
            return build_disputed_blocks(commitment, party_id=item.subject, tz=person.tz)
    return None


async def render(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    return await render_many(session, [nudge], person, record)


async def render_many(
    session: AsyncSession, items: list[Nudge], person: Person, record: bool
) -> Rendered | None:
    """All held items in one section, at most SHOWN in full, each block id once."""
    shown: list[Block] = []
    seen: set[str] = set()
    count = 0
    senders: dict[str, int] = {}
    for item in items:
        blocks = await _one(session, item, person)
        if not blocks or not renders(blocks):
            continue
        ids = {b.block_id for b in blocks if b.block_id}
        if ids & seen:
            continue  # the same promise twice (told, then changed): its latest state once
        count += 1
        senders[item.subject] = senders.get(item.subject, 0) + 1
        if count <= SHOWN:
            seen |= ids
            shown.extend(blocks)
    if not count:
        return None
    header = SectionBlock(text=MarkdownTextObject(text=_("*Since your last message from allybot*")))
    out: list[Block] = [header, *shown]
    if count > SHOWN:
        more = mention_list(list(senders)[:10])  # "<@A>, <@B> y <@C>" in the reader's words
        out.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=ngettext(
                            "…and {n} more from {people}, recorded in allybot; ask them if "
                            "you need the details.",
                            "…and {n} more from {people}, recorded in allybot; ask them if "
                            "you need the details.",
                            count - SHOWN,
                            people=more,
                        )
                    )
                ]
            )
        )
    text = ngettext("{n} update from colleagues", "{n} updates from colleagues", count)
    return Rendered(text=text, blocks=out)


register(
    NudgeKind(
        name=HELD_KIND,
        order=25,
        plan=_plan,
        render=render,
        render_many=render_many,
        title=N_("From colleagues"),
    )
)
