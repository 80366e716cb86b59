"""The one way one person's action makes allybot DM another person (part of a handler's
reply): through the daily budget of the pair and the recipient's mutes
(bot/services/dm_budget.py), in the recipient's language.

What a DM says is given as functions (`text`, `blocks`) and rendered only once the DM is let
through, inside `speaking(...)` for the person who reads it: the one who acted has their own
language set around the whole handler, the recipient may read allybot in another."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from bot import i18n
from bot.blocks.kudos import build_notice_blocks
from bot.db import Session
from bot.i18n import ngettext
from bot.inbox import Work
from bot.services import dm_budget, people
from bot.services.dm_budget import Admission
from handlers.dm import send_dm
from handlers.language import actor

# What a DM to someone else says, rendered in their language when it is sent.
Text = Callable[[], str]
Blocks = Callable[[], list[Block]]


async def reader_language(work: Work, user_id: str) -> str:
    """The language `user_id` reads allybot in (their choice, their Slack locale, the
    workspace's default), from what this delivery read, else the directory."""
    person = work.people.get(user_id)
    if person is None:
        person = (await work.lookup([user_id])).get(user_id)
    if work.workspace is None:
        async with work.db.session() as session:
            await work.workspace_in(session)
    return people.language_of(person, work.workspace)


async def group_language(work: Work, user_ids: Iterable[str]) -> str:
    """What a group reads (an intros group DM): its members' common language, else the
    workspace's default."""
    members = list(dict.fromkeys(user_ids))
    found = await work.lookup(members)
    if work.workspace is None:
        async with work.db.session() as session:
            await work.workspace_in(session)
    return people.common_language([found.get(u) for u in members], work.workspace)


async def relay_dm(
    work: Work,
    *,
    sender_id: str,
    recipient_id: str,
    kind: str,
    key: str,
    ref: dict[str, Any],
    text: Text,
    blocks: Blocks,
    since: datetime | None = None,
) -> Admission:
    """Admit the DM (recorded once under `key` for this delivery), then send it if admitted.

    The key is scoped to the delivery being worked on: only a retry of that same delivery
    finds its earlier decision. Sent before means sent again unless the first attempt
    reached Slack: a resumed delivery looks for the DM (its metadata names the scoped key) in
    the conversation since `since` (a day back when not given) before sending. Held or muted
    stays so. Any other action that tells the same thing again (a party removed and added
    back) is a new DM and counts against the budget.
    """
    async with work.db.session() as session:
        admission = await admit_dm(
            session,
            work,
            sender_id=sender_id,
            recipient_id=recipient_id,
            kind=kind,
            key=key,
            ref=ref,
        )
    await send_admitted(
        work, admission, recipient_id=recipient_id, key=key, text=text, blocks=blocks, since=since
    )
    return admission


async def admit_dm(
    session: Session,
    work: Work,
    *,
    sender_id: str,
    recipient_id: str,
    kind: str,
    key: str,
    ref: dict[str, Any],
    recipient_tz: str | None = None,
    locked: bool = False,
) -> Admission:
    """`relay_dm`'s decision alone, in the caller's transaction (e.g. the one that stored
    what the DM tells); `send_admitted` sends it after that transaction committed."""
    return await dm_budget.admit(
        session,
        team_id=work.team_id,
        sender_id=sender_id,
        recipient_id=recipient_id,
        kind=kind,
        key=_scoped(work, key),
        ref=ref,
        now=work.now(),
        recipient_tz=recipient_tz,
        locked=locked,
    )


async def send_admitted(
    work: Work,
    admission: Admission,
    *,
    recipient_id: str,
    key: str,
    text: Text,
    blocks: Blocks,
    since: datetime | None = None,
) -> None:
    """Send a DM `admit_dm` let through (nothing for one held or muted), rendered in the
    recipient's language."""
    if not admission.send:
        return
    with i18n.speaking(await reader_language(work, recipient_id)):
        said, shown = text(), blocks()
    resuming = work.resuming and admission.retry
    await send_dm(
        work.client,
        user_id=recipient_id,
        text=said,
        blocks=shown,
        ref=_scoped(work, key),
        resuming_since=(since or work.now() - timedelta(days=1)) if resuming else None,
    )


def _scoped(work: Work, key: str) -> str:
    return key + scope_of(work)


def scope_of(work: Work) -> str:
    """What scopes a DM's key to the delivery at work: only its retries find its decision."""
    return f":d{work.delivery_id}"


def over_budget_note(recipients: Sequence[str], budget: int) -> str:
    """What the sender is told; the same whether or not anyone muted them."""
    names = ", ".join(f"<@{r}>" for r in recipients)
    return ngettext(
        "You've reached today's limit of {n} message allybot sends {names} on your "
        "behalf. Everything is recorded; they'll see it in their next daily message from "
        "allybot instead of a DM now.",
        "You've reached today's limit of {n} messages allybot sends {names} on your "
        "behalf. Everything is recorded; they'll see it in their next daily message from "
        "allybot instead of a DM now.",
        budget,
        names=names,
    )


async def tell_sender(
    work: Work, *, sender_id: str, text: str, channel_id: str | None = None
) -> None:
    """A private note to the person who acted: in reply to what they did when Slack gave a
    way to, else only they see it in the channel, else in their DM with allybot."""
    blocks = build_notice_blocks(text)
    if actor(work) == sender_id and await work.respond(text, blocks=blocks):
        return
    if channel_id and channel_id.startswith(("C", "G")):
        await work.client.chat_postEphemeral(
            channel=channel_id, user=sender_id, text=text, blocks=blocks
        )
        return
    await send_dm(work.client, user_id=sender_id, text=text, blocks=blocks)


async def tell_if_over(
    work: Work,
    *,
    sender_id: str,
    admissions: dict[str, Admission],
    channel_id: str | None = None,
) -> None:
    """Tell the sender about the recipients they have reached today's limit for (only on
    the delivery that crossed it, never again on a retry)."""
    over = [r for r, a in admissions.items() if a.over_budget and not a.retry]
    if not over:
        return
    if work.workspace is not None:  # read earlier in this delivery
        budget = work.workspace.daily_dm_budget
    else:
        async with work.db.session() as session:
            budget = await dm_budget.budget_of(session, team_id=work.team_id)
    with i18n.speaking(await reader_language(work, sender_id)):  # not always who acted
        note = over_budget_note(over, budget)
    await tell_sender(work, sender_id=sender_id, text=note, channel_id=channel_id)
