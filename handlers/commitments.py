"""`/commit`: make, list, finish and drop promises; and telling the people a promise is to."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from slack_bolt.async_app import AsyncApp

from bot import directory, i18n
from bot import text as texts
from bot.blocks import words
from bot.blocks.commitments import (
    LISTED,
    build_confirmation_blocks,
    build_delivered_blocks,
    build_drop_question_blocks,
    build_list_blocks,
    build_party_blocks,
    summary,
    when_text,
)
from bot.i18n import _, ngettext
from bot.ids import Command
from bot.inbox import Inbox, Work
from bot.models import Commitment, Person
from bot.services import commitments, preferences
from bot.services.commitments import CommitRejected
from bot.services.when import WhenError, parse_when
from handlers.common import engaging
from handlers.keys import command_key
from handlers.kudos import tell_privately
from handlers.relay import Blocks, Text, relay_dm, tell_if_over


async def owner_of(work: Work) -> Person:
    found = await directory.lookup(
        work.db, work.client, team_id=work.team_id, user_ids=[work.user_id]
    )
    if work.user_id not in found:
        raise CommitRejected(_("I couldn't look up your Slack profile; please try again."))
    return found[work.user_id]


async def checked_parties(work: Work, owner: Person, user_ids: Sequence[str]) -> list[str]:
    found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=user_ids)
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        raise CommitRejected(_("I couldn't find <@{user}> in this workspace.", user=missing[0]))
    commitments.check_parties(owner.user_id, [found[uid] for uid in user_ids])
    return list(user_ids)


async def handle_commit_command(work: Work) -> None:
    """`/commit <what> [to @bob] [by <when>]`, `/commit list|done N|drop N|help`."""
    text = str(work.body.get("text") or "").strip()
    sub, __, rest = text.partition(" ")
    try:
        match sub.lower():
            case "" | "help" | "?":
                await tell_privately(work, commitments.usage())
            case "list":
                await _list(work)
            case "done":
                await _done_by_number(work, rest)
            case "drop":
                await _drop_by_number(work, rest)
            case _:
                await _create(work, text)
    except (CommitRejected, WhenError) as exc:
        await tell_privately(work, str(exc))


async def _create(work: Work, text: str) -> None:
    draft = commitments.parse_commit_text(text)
    owner = await owner_of(work)
    parties = await checked_parties(work, owner, draft.parties)
    async with work.db.session() as session:
        __, window_end = await preferences.window_of(session, owner)
    due_at = (
        parse_when(draft.when, tz=owner.tz, now=work.now(), window_end=window_end)
        if draft.when
        else None
    )
    async with work.db.session() as session:
        commitment = await commitments.create(
            session,
            team_id=work.team_id,
            owner=owner,
            what=draft.what,
            parties=parties,
            due_at=due_at,
            source_key=command_key(work.body),
            now=work.now(),
        )
    await work.respond(
        _("You committed to {promise}.", promise=summary(commitment, parties, owner.tz)),
        blocks=build_confirmation_blocks(commitment, parties, owner.tz),
    )


async def _list(work: Work) -> None:
    owner = await owner_of(work)
    async with work.db.session() as session:
        items = await commitments.open_list(session, team_id=work.team_id, owner_id=owner.user_id)
        record = await commitments.follow_through(
            session,
            team_id=work.team_id,
            user_id=owner.user_id,
            start=work.now() - commitments.FOLLOW_THROUGH_WINDOW,
            end=work.now(),
        )
        lines = []
        for n, c in enumerate(items, 1):
            parties = [p.user_id for p in await commitments.parties_of(session, commitment_id=c.id)]
            item = summary(c, parties, owner.tz)
            if c.due_at and c.due_at < work.now():
                # Translators: an open promise in the /commit list whose date has passed

                item = _("{promise} :hourglass: overdue", promise=item)
            lines.append(texts.one_line(f"{n}. {item}", 300))
    if not lines:
        head = _("No open commitments. `/commit <what> to @bob by Friday` records one.")
        tail = ""
    else:
        head = ngettext(
            "*Your open commitment* ({n}, times are yours):",
            "*Your open commitments* ({n}, times are yours):",
            len(lines),
        )
        tail = _("`/commit done N` when one is kept, `/commit drop N` when it no longer stands.")
    if record.closed:
        tail += "\n" + ngettext(
            "Follow-through, last 90 days: {kept} of {n} kept on time.",
            "Follow-through, last 90 days: {kept} of {n} kept on time.",
            record.closed,
            kept=i18n.format_number(record.kept),
        )
    shown = [texts.one_line(line, 200) for line in lines[:LISTED]]  # the notification's text
    tail = tail.strip()
    await work.respond(
        "\n".join([head, *shown, tail]).strip(), blocks=build_list_blocks(head, lines, tail)
    )


async def _done_by_number(work: Work, number: str) -> None:
    async with work.db.session() as session:
        commitment = await commitments.by_number(
            session, team_id=work.team_id, owner_id=work.user_id, number=number
        )
    await mark_done(work, commitment.id)
    await tell_privately(work, _("Done: *{what}*. Nicely kept.", what=words(commitment.text)))


async def _drop_by_number(work: Work, number: str) -> None:
    async with work.db.session() as session:
        commitment = await commitments.by_number(
            session, team_id=work.team_id, owner_id=work.user_id, number=number
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    if parties:
        await work.respond(
            _("Drop {what}?", what=words(commitment.text)),
            blocks=build_drop_question_blocks(commitment, parties),
        )
        return
    await close(work, commitment.id, "dropped")
    await tell_privately(work, _("Dropped: *{what}*.", what=words(commitment.text)))


async def close(work: Work, commitment_id: int, status: str) -> tuple[Commitment, list[str], bool]:
    async with work.db.session() as session:
        commitment = await commitments.owned(
            session, commitment_id=commitment_id, team_id=work.team_id, user_id=work.user_id
        )
        changed = await commitments.close(
            session, commitment=commitment, status=status, now=work.now()
        )
        parties = [
            p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
        ]
    return commitment, parties, changed


async def mark_done(work: Work, commitment_id: int) -> Commitment:
    commitment, parties, changed = await close(work, commitment_id, "done")
    if changed:
        await tell_closed(
            work,
            commitment,
            parties,
            kind="commitment_done",
            key=f"done:c{commitment.id}",
            text=lambda: _(
                "<@{owner}> delivered: {what}",
                owner=commitment.owner_id,
                what=words(commitment.text),
            ),
            blocks=lambda: build_delivered_blocks(commitment),
        )
    return commitment


async def tell_closed(
    work: Work,
    commitment: Commitment,
    parties: Sequence[str],
    *,
    kind: str,
    key: str,
    text: Text,
    blocks: Blocks,
) -> None:
    """DM each party the same news of a closed promise, within the owner's DM budget, in
    each one's language."""
    admitted = {}
    for party in parties:
        admitted[party] = await relay_dm(
            work,
            sender_id=commitment.owner_id,
            recipient_id=party,
            kind=kind,
            key=key,
            ref={"commitment": commitment.id},
            text=text,
            blocks=blocks,
        )
    await tell_if_over(work, sender_id=commitment.owner_id, admissions=admitted)


async def tell_parties(
    work: Work, commitment: Commitment, user_ids: Sequence[str], *, updated: bool = False
) -> None:
    """DM each party, with times in their own zone and words in their own language."""
    found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=user_ids)
    work.people.update(found)
    admitted = {}
    for uid in user_ids:
        tz = found[uid].tz if uid in found else "UTC"
        admitted[uid] = await relay_dm(
            work,
            sender_id=commitment.owner_id,
            recipient_id=uid,
            kind="commitment_update" if updated else "commitment",
            key=f"{'updated' if updated else 'shared'}:c{commitment.id}",
            ref={"commitment": commitment.id},
            text=partial(_party_text, commitment, tz, updated=updated),
            blocks=partial(build_party_blocks, commitment, tz),
        )
    await tell_if_over(work, sender_id=commitment.owner_id, admissions=admitted)


def _party_text(commitment: Commitment, tz: str, *, updated: bool) -> str:
    """What a party is told of a promise made (or changed) to them, in their zone."""
    values = {
        "owner": commitment.owner_id,
        "what": words(commitment.text),
        "when": when_text(commitment.due_at, tz),
    }
    if updated:
        return _("<@{owner}> updated a promise: {what}, by {when} your time", **values)
    return _("<@{owner}> committed: {what}, by {when} your time", **values)


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.command(Command.COMMIT)(
        inbox.listener("commit_command", command_key, engaging(handle_commit_command))
    )
