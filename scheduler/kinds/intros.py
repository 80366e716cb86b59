"""Intros in the scheduler: planning each workspace's round, matching it once, and the group
DM posts (the introduction, then "Did you meet?" a week later).

The kind `intro` plans a round row per (workspace, period): `plan_rounds` inserts it with ON
CONFLICT DO NOTHING, so a pass that runs twice, late, or on two replicas plans one round. Its
nudges are the notices to people left out of a round, which go in their daily message.

Group DMs are not daily messages: each is an `intro_posts` row, unique per (match, kind).
A sender claims due rows with a token and a lease (FOR UPDATE SKIP LOCKED on PostgreSQL),
marks the row `sending_at` just before chat.postMessage, and `sent` with Slack's ts after.
So two replicas never post the same row; a 429 is retried by the Slack client after
Retry-After and, if it persists, by a later pass after a backoff; errors no retry can fix
fail the row with its reason. Only a process that dies between Slack's answer and the
`sent` write can cause a second post, after the lease; that case is counted in
`allybot_intro_posts_total{outcome="resent"}`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter as PromCounter
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import directory
from bot.blocks.intros import (
    build_follow_up_blocks,
    build_intro_blocks,
    build_left_out_blocks,
    follow_up_text,
    intro_text,
    left_out_text,
)
from bot.blocks.newcomers import build_welcome_intro_blocks, welcome_intro_text
from bot.logs import describe, log_context
from bot.models import IntroRound, Nudge, Person, Workspace
from bot.runtime import AllyBot
from bot.services.intros import posts as intro_posts
from bot.services.intros import rounds as intro_rounds
from bot.services.intros import rules as intro_rules
from bot.services.intros import starters as intro_starters
from bot.services.newcomers import WELCOME
from bot.slack import slack_error
from scheduler.kinds import NudgeKind, PlanContext, Rendered, register
from scheduler.sender import PERMANENT

logger = logging.getLogger(__name__)

POSTS = PromCounter("allybot_intro_posts", "Intros group DM posts by outcome", ["outcome"])
PROFILE_BATCH = 100
POST_BATCH = 100
POST_CONCURRENCY = 10


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


register(NudgeKind(name=intro_rules.KIND, order=90, plan=plan, render=render, title="Intros"))


@dataclass
class IntrosResult:
    rounds: int = 0
    groups: int = 0
    posted: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


async def run_intros(bot: AllyBot, *, now: datetime, team_id: str | None = None) -> IntrosResult:
    """Match the rounds that are due, then send the group posts that are due."""
    result = IntrosResult()
    while True:
        token = str(uuid.uuid4())
        async with bot.db.session() as session:
            claimed = await intro_rounds.claim_round(session, now=now, token=token, team_id=team_id)
        if claimed is None:
            break
        with log_context(team=claimed.team_id):
            await _match(bot, claimed.id, claimed.team_id, claimed.channel_id, token, now, result)
    await send_posts(bot, now=now, team_id=team_id, result=result)
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
    async with bot.db.session() as session:
        workspace = await session.get(Workspace, team_id)
        assert workspace is not None
        pool = await intro_rounds.build_pool(
            session, workspace=workspace, channel_members=members, bot_user_id=bot_user, now=now
        )
        matched = await intro_rounds.match_round(
            session, round_id=round_id, token=token, pool=pool, now=now
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


async def _bot_user(client: AsyncWebClient) -> str | None:
    resp = await client.auth_test()
    user = resp.get("user_id")
    return str(user) if user else None


async def send_posts(
    bot: AllyBot, *, now: datetime, team_id: str | None = None, result: IntrosResult | None = None
) -> IntrosResult:
    """Claim and send due group posts until none is left; safe on many replicas at once."""
    result = result or IntrosResult()
    limit = asyncio.Semaphore(POST_CONCURRENCY)
    while True:
        token = str(uuid.uuid4())
        async with bot.db.session() as session:
            ids = await intro_posts.claim_posts(
                session, now=now, token=token, limit=POST_BATCH, team_id=team_id
            )
        if not ids:
            return result

        async def bounded(post_id: int, token: str = token) -> None:
            async with limit:
                await send_post(bot, post_id=post_id, token=token, now=now, result=result)

        await asyncio.gather(*(bounded(i) for i in ids))
        if len(ids) < POST_BATCH:
            return result


async def send_post(
    bot: AllyBot, *, post_id: int, token: str, now: datetime, result: IntrosResult
) -> None:
    """Open the group DM (Slack gives the same one for the same people) and post once."""
    async with bot.db.session() as session:
        work = await intro_posts.post_work(session, post_id=post_id, token=token)
        if work is None:
            return
        if work.post.kind == intro_rules.FOLLOW_UP and not await intro_posts.intro_sent(
            session, match_id=work.match.id
        ):
            await intro_posts.cancel_post(session, post_id=post_id, why="intro not sent")
            return
    if work.crashed_before:
        POSTS.labels("resent").inc()
    with log_context(team=work.match.team_id, intro_post=post_id):
        client = await bot.clients.for_team(work.match.team_id)
        try:
            channel = work.match.channel_id
            if channel is None:
                opened = await client.conversations_open(users=",".join(work.members))
                channel = str(opened["channel"]["id"])
                async with bot.db.session() as session:
                    await intro_posts.set_group_dm(
                        session, match_id=work.match.id, channel_id=channel
                    )
            if work.post.kind == intro_rules.INTRO:
                text, blocks = await _intro_message(bot, client, work, now)
            elif work.post.kind == WELCOME:
                text, blocks = await _welcome_message(bot, client, work, now)
            else:
                text, blocks = follow_up_text(), build_follow_up_blocks(work.match.id)
            async with bot.db.session() as session:
                if not await intro_posts.mark_post_sending(
                    session, post_id=post_id, token=token, now=now
                ):
                    return
            resp = await client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False
            )
        except Exception as exc:  # recorded with its reason, retried by a later pass
            error = slack_error(exc) if isinstance(exc, SlackApiError) else describe(exc)
            permanent = isinstance(exc, SlackApiError) and error in PERMANENT
            async with bot.db.session() as session:
                status = await intro_posts.mark_post_failed(
                    session, post_id=post_id, now=now, error=error, permanent=permanent
                )
            outcome = "failed" if status == "failed" else "retry"
            setattr(result, outcome, getattr(result, outcome) + 1)
            result.errors.append(error)
            POSTS.labels(outcome).inc()
            logger.warning("intro post not sent (%s): %s", outcome, error)
            return
        async with bot.db.session() as session:
            await intro_posts.mark_post_sent(
                session,
                post_id=post_id,
                channel_id=str(resp["channel"]),
                ts=str(resp["ts"]),
                now=now,
            )
        result.posted += 1
        POSTS.labels("sent").inc()


async def _welcome_message(
    bot: AllyBot, client: AsyncWebClient, work: intro_posts.PostWork, now: datetime
) -> tuple[str, list[Block]]:
    """A newcomer's first intro: the newcomer is the match's first member."""
    people = await directory.lookup(
        bot.db, client, team_id=work.match.team_id, user_ids=work.members
    )
    newcomer, welcomers = work.members[0], work.members[1:]
    lines = [
        intro_rules.local_time_line(people[u], now) if u in people else f"<@{u}>"
        for u in work.members
    ]
    blocks = build_welcome_intro_blocks(
        newcomer_id=newcomer,
        welcomers=welcomers,
        starter=intro_starters.starter_text(work.match.starter_id),
        time_lines=lines,
    )
    return welcome_intro_text(newcomer, welcomers), blocks


async def _intro_message(
    bot: AllyBot, client: AsyncWebClient, work: intro_posts.PostWork, now: datetime
) -> tuple[str, list[Block]]:
    people = await directory.lookup(
        bot.db, client, team_id=work.match.team_id, user_ids=work.members
    )
    async with bot.db.session() as session:
        row = await session.get(IntroRound, work.match.round_id)
    lines = [
        intro_rules.local_time_line(people[u], now) if u in people else f"<@{u}>"
        for u in work.members
    ]
    blocks = build_intro_blocks(
        user_ids=work.members,
        channel_id=row.channel_id if row else "",
        starter=intro_starters.starter_text(work.match.starter_id),
        time_lines=lines,
    )
    return intro_text(work.members), blocks
