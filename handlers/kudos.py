"""Giving kudos, from whichever surface it starts on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import directory, i18n, landing, named
from bot import text as texts
from bot.blocks.kudos import (
    build_kudos_dm_blocks,
    build_kudos_post_blocks,
    build_notice_blocks,
    kudos_dm_text,
    kudos_post_text,
    private_confirmation,
)
from bot.db import Session
from bot.i18n import _
from bot.inbox import Work
from bot.models import Kudos, Workspace
from bot.services import kudos, kudos_rows, people
from bot.services.dm_budget import Admission
from bot.services.kudos import GiveResult, KudosRejected, ParsedKudos
from bot.slack import slack_error
from handlers.dm import send_dm
from handlers.relay import scope_of, send_admitted, tell_if_over

# Where chat.postMessage cannot reach, the command's response_url still can.
UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


@dataclass(frozen=True)
class Where:
    """Where a kudos came from (its channel, its source and the source's unique key), and
    whether the giver asked for it to stay private."""

    channel_id: str | None
    source: str
    source_key: str
    private: bool
    named: tuple[str, ...] = ()  # others the reason repeats (kudos.give's `named`)
    reason_without_named: str | None = None


async def give_and_announce(
    work: Work,
    *,
    giver_id: str,
    parsed: ParsedKudos,
    channel_id: str | None,
    source: str,
    source_key: str,
    public: bool = True,
    private: bool = False,
    named: tuple[str, ...] = (),
    reason_without_named: str | None = None,
) -> GiveResult:
    """Check the people, log the kudos, post it and tell each receiver: each step once.

    `public=False` where the kudos is already visible (a channel message, a reaction).
    `private=True` when the giver asked for it: nobody but the receivers hears of it. A
    receiver who doesn't want kudos posted is left out of the post and reached by DM only.
    """
    meant = [giver_id, *parsed.receivers]
    # Anyone else the reason mentions is shown by name on its way to Slack
    # (_only_meant_mentions, bot.named): read them too, so allybot holds a name for them.
    others = [uid for uid in texts.mentioned(parsed.reason) if uid not in meant]
    everyone = list(dict.fromkeys([*meant, *others]))
    unread = [uid for uid in everyone if uid not in work.people]
    # Usually one transaction: read who is not known yet and, when every profile is fresh,
    # log the kudos in the same one. A stale profile means a users.info call first.
    where = Where(channel_id, source, source_key, private, named, reason_without_named)
    given: GiveResult | None = None
    with _forgotten_on_rollback(work):
        async with work.db.session() as session:
            workspace = await work.workspace_in(session)
            # Those the claim looked for and did not keep need Slack's users.info anyway.
            to_read = [u for u in unread if u not in work.looked_up]
            known = await people.get_people(session, team_id=work.team_id, user_ids=to_read)
            if not people.stale_ids(known, unread, work.now()):
                work.people.update(known)
                given = await _give(session, work, giver_id, parsed, where)
    if given is None:
        now = work.now()
        fresh = await directory.fetch(
            work.client, team_id=work.team_id, user_ids=unread, known=known, now=now
        )
        with _forgotten_on_rollback(work):
            async with work.db.session() as session:
                # Everyone is read again with the kudos, those read ahead too; one erased
                # during the call stays erased, and is not found. An erase under way is
                # waited for before any of their rows is written (kudos.give's lock).
                await people.hold(session, team_id=work.team_id, user_ids=everyone)
                found = await directory.save_and_read(
                    session,
                    team_id=work.team_id,
                    profiles=fresh or [],
                    user_ids=everyone,
                    stored={*known, *work.stored},
                    now=now,
                )
                for uid in everyone:
                    work.people.pop(uid, None)
                work.people.update(found)
                given = await _give(session, work, giver_id, parsed, where)
    result: GiveResult = given
    marks = kudos_rows.Marks()
    work.on_outcome.append(marks)
    posted = [k for k in result.kudos if k.private_by is None]
    if public and posted:
        await _announce(work, workspace, posted, channel_id=channel_id, marks=marks)
    await _confirm_private(work, result, channel_id=channel_id, source_key=source_key, quiet=public)
    await _notify_receivers(work, workspace, result, result.admissions, marks=marks)
    return result


@contextlib.contextmanager
def _forgotten_on_rollback(work: Work) -> Iterator[None]:
    """People read in a transaction that then fails (a kudos refused) are not kept for the
    rest of the delivery: its rollback expired them, and what it saved is gone anyway."""
    before = dict(work.people)
    try:
        yield
    except BaseException:
        work.people.clear()
        work.people.update(before)
        raise


async def _give(
    session: Session, work: Work, giver_id: str, parsed: ParsedKudos, where: Where
) -> GiveResult:
    """Store the kudos and admit each receiver's DM (the budget), in one transaction: what
    the DMs tell and the decision to send them are recorded together."""
    given = _checked(work, giver_id, parsed, where)
    given["parsed"] = await _named_here(session, work, given["parsed"])
    workspace = await work.workspace_in(session)
    # Members of another organisation (Slack Connect) see the kudos where it was given, and
    # allybot does not DM them. A retry finds what its first run stored: a receiver who
    # erased their data since is under an anonymous id there, not named here, nobody to tell.
    zones = {
        uid: person.tz
        for uid in given["parsed"].receivers
        if (person := work.people.get(uid)) is not None and not person.external
    }
    telling = kudos.Telling(zones=zones, key_suffix=scope_of(work))
    return await kudos.give(session, workspace=workspace, telling=telling, **given)


def _checked(work: Work, giver_id: str, parsed: ParsedKudos, where: Where) -> dict[str, Any]:
    """The people checks, once everyone's profile is at hand; what `kudos.give` needs."""
    found = work.people
    missing = [uid for uid in parsed.receivers if uid not in found]
    if missing:
        raise KudosRejected(_("I couldn't find <@{user}> in this workspace.", user=missing[0]))
    if giver_id not in found:
        raise KudosRejected(_("I couldn't look up your Slack profile; please try again."))

    kudos.check_people(found[giver_id], [found[uid] for uid in parsed.receivers])
    parsed = _only_meant_mentions(giver_id, parsed)
    return {
        "giver": found[giver_id],
        "parsed": parsed,
        "channel_id": where.channel_id,
        "source": where.source,
        "source_key": where.source_key,
        "now": work.now(),
        "private": where.private,
        "quiet_receivers": [uid for uid in parsed.receivers if found[uid].kudos_private],
        "named": where.named,
        "reason_without_named": where.reason_without_named,
    }


def _only_meant_mentions(giver_id: str, parsed: ParsedKudos) -> ParsedKudos:
    """The reason once more through the text path, whatever surface it came from: only the
    giver and the people recognised stay mentions; anyone else is kept as `<~U…>`, their id
    (so erasing them rewrites it) shown by their name, never a ping, only on the way to
    Slack (bot.named)."""
    meant = {giver_id, *parsed.receivers}
    return replace(parsed, reason=kudos.carry_reason(parsed.reason, mentions=meant))


async def _named_here(session: Session, work: Work, parsed: ParsedKudos) -> ParsedKudos:
    """The people the reason names by id (`<~U…>`) that allybot no longer holds (they erased
    their data since the words were read: a +1 repeats a post read before) are named by
    nobody. Read after their locks are taken, in the transaction that stores the kudos, so
    an erase either came first and is seen here, or waits and then rewrites this one too."""
    ids = texts.named_in(parsed.reason)
    if not ids:
        return parsed
    await people.hold(session, team_id=work.team_id, user_ids=ids)
    here = await people.get_people(session, team_id=work.team_id, user_ids=ids)
    if all(uid in here for uid in ids):
        return parsed
    gone = named.nobody()
    reason = texts.NAMED.sub(lambda m: m.group(0) if m.group(1) in here else gone, parsed.reason)
    return replace(parsed, reason=reason)


async def _confirm_private(
    work: Work, result: GiveResult, *, channel_id: str | None, source_key: str, quiet: bool
) -> None:
    """Tell the giver, privately, that a private kudos was delivered; why, the first time a
    receiver's own preference kept it private. Where the kudos already shows (`quiet` is
    False: a channel message, a reaction), only that first explanation is said."""
    private = [k for k in result.kudos if k.private_by is not None]
    if not private or private[0].announced_at is not None:
        return
    async with work.db.session() as session:
        first = await kudos.first_quiet(session, team_id=work.team_id, rows=private)
    text = private_confirmation(private, first_quiet=first, quiet=quiet)
    if text:
        await tell_giver(work, private[0].giver_id, channel_id, text)
    async with work.db.session() as session:
        await kudos.mark_announced(
            session,
            team_id=work.team_id,
            source_key=source_key,
            channel_id=None,
            ts=None,
            now=work.now(),
            private=True,
        )


async def tell_giver(work: Work, giver_id: str, channel_id: str | None, text: str) -> None:
    """A private word to the giver: in reply to their command, else only they see it in the
    channel, else in their DM with allybot."""
    blocks = build_notice_blocks(text)
    if await work.respond(text, blocks=blocks):
        return
    if channel_id and channel_id.startswith(("C", "G")):
        try:
            await work.client.chat_postEphemeral(
                channel=channel_id, user=giver_id, text=text, blocks=blocks
            )
            return
        except SlackApiError as exc:
            if slack_error(exc) not in UNREACHABLE:
                raise
    await send_dm(work.client, user_id=giver_id, text=text, blocks=blocks)


async def _announce(
    work: Work,
    workspace: Workspace,
    rows: list[Kudos],
    *,
    channel_id: str | None,
    marks: kudos_rows.Marks,
) -> None:
    first = rows[0]
    if first.announced_at is not None:
        return
    receivers = [k.receiver_id for k in rows]
    with i18n.speaking(workspace.language):  # a channel post: the workspace's language
        text = kudos_post_text(giver_id=first.giver_id, receiver_ids=receivers, reason=first.text)
        blocks = build_kudos_post_blocks(
            giver_id=first.giver_id,
            receiver_ids=receivers,
            reason=first.text,
            tags=first.tags,
            emoji=workspace.kudos_emoji,
        )
    target = channel_id
    if target and target.startswith("D"):
        target = workspace.kudos_channel_id
    posted_channel: str | None = None
    ts: str | None = None
    reached = False
    ref = f"kudos:{first.id}"
    if target and work.resuming:  # an earlier run may have posted it before it stopped
        found = await landing.find_post(
            work.client, channel=target, since=first.created_at, step="post", ref=ref
        )
        if found is not None:
            posted_channel, ts, reached = found[0], found[1], True
    if target and not reached:
        try:
            resp = await work.client.chat_postMessage(
                channel=target,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=landing.metadata("post", ref),
            )
            posted_channel, ts, reached = resp["channel"], resp["ts"], True
        except SlackApiError as exc:
            if slack_error(exc) not in UNREACHABLE:
                raise
    if not reached:
        reached = await work.respond(text, blocks=blocks, response_type="in_channel")
        posted_channel = channel_id
    if not reached:
        raise RuntimeError("the kudos post reached neither the channel nor the response_url")
    marks.announce(rows, channel_id=posted_channel, ts=ts, now=work.now())


async def _notify_receivers(
    work: Work,
    workspace: Workspace,
    result: GiveResult,
    admissions: dict[int, Admission],
    *,
    marks: kudos_rows.Marks,
) -> None:
    """A DM to each receiver admitted with the kudos (`_give`)."""
    admitted: dict[str, Admission] = {}
    for row in result.kudos:
        admission = admissions.get(row.id)
        if admission is None:
            continue
        await send_admitted(
            work,
            admission,
            recipient_id=row.receiver_id,
            key=f"kudos:{row.id}",
            text=partial(
                kudos_dm_text,
                giver_id=row.giver_id,
                channel_id=row.channel_id,
                reason=row.text,
                private_by=row.private_by,
            ),
            blocks=partial(
                build_kudos_dm_blocks,
                team_id=work.team_id,
                giver_id=row.giver_id,
                channel_id=row.channel_id,
                reason=row.text,
                tags=row.tags,
                emoji=workspace.kudos_emoji,
                private_by=row.private_by,
            ),
            since=row.created_at,
        )
        admitted[row.receiver_id] = admission
        marks.notify(row, now=work.now())
    if result.kudos:
        await tell_if_over(
            work,
            sender_id=result.kudos[0].giver_id,
            admissions=admitted,
            channel_id=result.kudos[0].channel_id,
        )


async def tell_privately(work: Work, text: str) -> None:
    """A private, specific answer to the person who acted."""
    await work.respond(text, blocks=build_notice_blocks(text))
