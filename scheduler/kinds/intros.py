"""Intros in the scheduler: planning each workspace's round, matching it once, and what the
group DM posts say (the introduction, then "Did you meet?" a week later).

The kind `intro` plans a round row per (workspace, period): `plan_rounds` inserts it with ON
CONFLICT DO NOTHING, so a pass that runs twice, late, or on two replicas plans one round. Its
nudges are the notices to people left out of a round, which go in their daily message.

Matching a round writes its group posts as `outbox` rows (kinds `intro` and `followup`,
unique per match), due now and in a week; `scheduler/sender.py` sends them like every other
message, opening the group DM the first time.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import directory, hours, i18n, intro_signals
from bot.blocks.intros import (
    build_follow_up_blocks,
    build_intro_blocks,
    build_left_out_blocks,
    follow_up_text,
    intro_text,
    left_out_text,
    slot_line,
)
from bot.blocks.newcomers import build_welcome_intro_blocks, welcome_intro_text
from bot.i18n import N_
from bot.logs import describe, log_context
from bot.models import IntroRound, Nudge, OutboxMessage, Person, Workspace
from bot.pairing import Pair
from bot.runtime import AllyBot
from bot.services import newcomers, people
from bot.services.intros import fit as intro_fit
from bot.services.intros import meeting as intro_meeting
from bot.services.intros import posts as intro_posts
from bot.services.intros import rounds as intro_rounds
from bot.services.intros import rules as intro_rules
from bot.services.intros import starters as intro_starters
from bot.services.newcomers import WELCOME
from bot.slack import slack_error
from scheduler import messages
from scheduler.kinds import NudgeKind, PlanContext, Rendered, register
from scheduler.messages import MessageKind, Outgoing, Skip

logger = logging.getLogger(__name__)

PROFILE_BATCH = 100


async def plan(session: AsyncSession, ctx: PlanContext) -> int:
    """Rounds due now, one per workspace and period."""
    return await intro_rounds.plan_rounds(session, now=ctx.now, team_id=ctx.team_id)


async def render(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    payload = nudge.payload or {}
    reason = str(payload.get("reason", ""))
    channel = payload.get("channel_id")
    return Rendered(
        text=left_out_text(reason, channel),
        blocks=build_left_out_blocks(reason, channel),
    )


register(NudgeKind(name=intro_rules.KIND, order=90, plan=plan, render=render, title=N_("Intros")))


@dataclass
class IntrosResult:
    rounds: int = 0
    groups: int = 0
    errors: list[str] = field(default_factory=list)


async def run_intros(bot: AllyBot, *, now: datetime, team_id: str | None = None) -> IntrosResult:
    """Match the rounds that are due; their posts are then sent with everything else."""
    result = IntrosResult()
    while True:
        token = str(uuid.uuid4())
        async with bot.db.session() as session:
            claimed = await intro_rounds.claim_round(session, now=now, token=token, team_id=team_id)
        if claimed is None:
            break
        with log_context(team=claimed.team_id):
            await _match(bot, claimed.id, claimed.team_id, claimed.channel_id, token, now, result)
    return result


async def _match(
    bot: AllyBot,
    round_id: int,
    team_id: str,
    channel_id: str,
    token: str,
    now: datetime,
    result: IntrosResult,
) -> None:
    """Fetch the channel's members and fresh profiles, then pair and store the round."""
    try:
        client = await bot.clients.for_team(team_id)
        members = await directory.channel_members(client, channel_id)
        bot_user = await _bot_user(client)
        async with bot.db.session() as session:
            joined = await intro_rounds.joined_ids(session, team_id=team_id)
        everyone = sorted((set(members) | set(joined)) - {bot_user})
        for start in range(0, len(everyone), PROFILE_BATCH):
            await directory.lookup(
                bot.db, client, team_id=team_id, user_ids=everyone[start : start + PROFILE_BATCH]
            )
    except Exception as exc:  # Slack unreachable or refusing: a later pass tries again
        error = slack_error(exc) if isinstance(exc, SlackApiError) else describe(exc)
        logger.exception("intros round not matched: %s", error)
        async with bot.db.session() as session:
            await intro_rounds.release_round(
                session, round_id=round_id, token=token, error=error, now=now
            )
        result.errors.append(error)
        return
    close = await _signals(bot, client, team_id, channel_id, everyone, now)
    async with bot.db.session() as session:
        workspace = await session.get(Workspace, team_id)
        assert workspace is not None
        pool = await intro_rounds.build_pool(
            session, workspace=workspace, channel_members=members, bot_user_id=bot_user, now=now
        )
        matched = await intro_rounds.match_round(
            session, round_id=round_id, token=token, pool=pool, now=now, close=close
        )
    if matched is not None:
        result.rounds += 1
        result.groups += len(matched.groups)
        logger.info(
            "intros round %s: %d groups, %d told why not",
            round_id,
            len(matched.groups),
            len(matched.left_out),
        )


async def _signals(
    bot: AllyBot,
    client: AsyncWebClient,
    team_id: str,
    channel_id: str,
    everyone: list[str],
    now: datetime,
) -> frozenset[Pair]:
    """The profile fields the admins named, refreshed a batch at a time, and the pairs who
    share many channels; a round goes ahead without them when Slack refuses."""
    async with bot.db.session() as session:
        workspace = await session.get(Workspace, team_id)
    if workspace is None:
        return frozenset()
    try:
        await intro_signals.refresh_profiles(
            bot.db, client, workspace=workspace, people=everyone, now=now
        )
    except SlackApiError as exc:
        logger.exception("intros: profile fields not read: %s", slack_error(exc))
    try:
        return await intro_signals.close_pairs(
            client,
            people=everyone,
            skip_channel=channel_id,
            threshold=workspace.intros_shared_channels,
        )
    except SlackApiError as exc:
        logger.exception("intros: shared channels not read: %s", slack_error(exc))
        return frozenset()


async def _bot_user(client: AsyncWebClient) -> str | None:
    resp = await client.auth_test()
    user = resp.get("user_id")
    return str(user) if user else None


# -- the group posts, as the sender renders them ------------------------------------------


async def render_intro(
    bot: AllyBot, client: AsyncWebClient, row: OutboxMessage, now: datetime
) -> Outgoing | Skip:
    """Who is in the group, each member's local time, and a conversation starter, in the
    members' common language (else the workspace's default)."""
    async with bot.db.session() as session:
        group = await intro_posts.group_of(session, match_id=int(str(row.subject)))
        if group is None:
            return Skip("match gone")
        row_round = await session.get(IntroRound, group.match.round_id)
        workspace = await session.get(Workspace, group.match.team_id)
        place = await intro_meeting.group_place(session, workspace=workspace, members=group.members)
    found = await directory.lookup(
        bot.db, client, team_id=group.match.team_id, user_ids=group.members
    )
    with i18n.speaking(people.common_language([found.get(u) for u in group.members], workspace)):
        lines = [
            intro_rules.local_time_line(found[u], now) if u in found else f"<@{u}>"
            for u in group.members
        ]
        known = [found[u] for u in group.members if u in found]
        slots = [
            slot_line(moment, [(p.user_id, hours.local_label(moment, p.tz)) for p in known])
            for moment in intro_fit.group_slots(known, workspace, now)
        ]
        blocks = build_intro_blocks(
            user_ids=group.members,
            channel_id=row_round.channel_id if row_round else "",
            starter=intro_starters.starter_text(group.match.starter_id),
            time_lines=lines,
            slot_lines=slots,
            place=place,
        )
        text = intro_text(group.members)
    return Outgoing(
        text=text,
        blocks=blocks,
        channel_id=group.match.channel_id,
        members=tuple(group.members),
    )


async def render_follow_up(
    bot: AllyBot, client: AsyncWebClient, row: OutboxMessage, now: datetime
) -> Outgoing | Skip:
    """ "Did you meet?", only where the introduction went, in the group's language."""
    match_id = int(str(row.subject))
    async with bot.db.session() as session:
        group = await intro_posts.group_of(session, match_id=match_id)
        if group is None:
            return Skip("match gone")
        if not await intro_posts.intro_sent(session, team_id=row.team_id, match_id=match_id):
            return Skip("intro not sent")
        workspace = await session.get(Workspace, row.team_id)
        # The languages kept for them (no users.info a week on: a follow-up needs no profile).
        found = await people.get_people(session, team_id=row.team_id, user_ids=group.members)
    with i18n.speaking(people.common_language([found.get(u) for u in group.members], workspace)):
        text = follow_up_text()
        blocks = build_follow_up_blocks(match_id)
    return Outgoing(
        text=text,
        blocks=blocks,
        channel_id=group.match.channel_id,
        members=tuple(group.members),
    )


async def render_welcome(
    bot: AllyBot, client: AsyncWebClient, row: OutboxMessage, now: datetime
) -> Outgoing | Skip:
    """A newcomer's first intro, to the volunteers who welcome them, in the group's common
    language (else the workspace's default). The newcomer is the one their own record
    names: once they erased their data or left, nothing is posted."""
    async with bot.db.session() as session:
        group = await intro_posts.group_of(session, match_id=int(str(row.subject)))
        newcomer = await newcomers.newcomer_of(session, match_id=int(str(row.subject)))
        workspace = await session.get(Workspace, row.team_id)
    if group is None:
        return Skip("match gone")
    if newcomer is None or newcomer not in group.members:
        return Skip("newcomer gone")
    found = await directory.lookup(
        bot.db, client, team_id=group.match.team_id, user_ids=group.members
    )
    if newcomer in found and found[newcomer].deleted:  # left the workspace since
        return Skip("newcomer gone")
    welcomers = [u for u in group.members if u != newcomer]
    if not welcomers:
        return Skip("no welcomers left")
    members = [newcomer, *welcomers]
    with i18n.speaking(people.common_language([found.get(u) for u in members], workspace)):
        lines = [
            intro_rules.local_time_line(found[u], now) if u in found else f"<@{u}>" for u in members
        ]
        blocks = build_welcome_intro_blocks(
            newcomer_id=newcomer,
            welcomers=welcomers,
            starter=intro_starters.starter_text(group.match.starter_id),
            time_lines=lines,
        )
        text = welcome_intro_text(newcomer, welcomers)
    return Outgoing(
        text=text,
        blocks=blocks,
        channel_id=group.match.channel_id,
        members=(newcomer, *welcomers),
    )


async def keep_group_dm(session: AsyncSession, row: OutboxMessage, channel_id: str) -> None:
    await intro_posts.set_group_dm(session, match_id=int(str(row.subject)), channel_id=channel_id)


messages.register(MessageKind(name=intro_rules.INTRO, render=render_intro, opened=keep_group_dm))
messages.register(
    MessageKind(name=intro_rules.FOLLOW_UP, render=render_follow_up, opened=keep_group_dm)
)
messages.register(MessageKind(name=WELCOME, render=render_welcome, opened=keep_group_dm))
