"""A person's own figures (Home, `/ally me`) on small histories where the answer is known."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

from bot.blocks.insights import build_me_blocks, insight_lines
from bot.db import Database
from bot.models import Ally, CheckIn, Commitment, CommitmentParty, Kudos
from bot.services.insights import PersonInsights, Ratio, Trend, person_insights
from tests.conftest import Server, Team
from tests.helpers import new_id
from tests.slack_double import SlackDouble

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
_keys = itertools.count()


def kudos(team_id: str, giver: str, receiver: str, days_ago: float, **kw: object) -> Kudos:
    return Kudos(
        team_id=team_id,
        giver_id=giver,
        receiver_id=receiver,
        channel_id=kw.pop("channel_id", "C1"),
        text=str(kw.pop("text", "thanks")),
        source="command",
        source_key=f"k{next(_keys)}-{new_id('')}",
        created_at=NOW - timedelta(days=days_ago),
    )


def commitment(team_id: str, owner: str, closed_days_ago: float, kept: bool) -> Commitment:
    closed = NOW - timedelta(days=closed_days_ago)
    return Commitment(
        team_id=team_id,
        owner_id=owner,
        text="a promise",
        due_at=closed + timedelta(days=-1 if not kept else 1),
        created_day=(closed - timedelta(days=5)).date(),
        status="done",
        created_at=closed - timedelta(days=5),
        closed_at=closed,
        kept_on_time=kept,
        source_key=f"c{next(_keys)}-{new_id('')}",
    )


def ally(team_id: str, owner: str, other: str, cadence: int, added_days_ago: float) -> Ally:
    added = NOW - timedelta(days=added_days_ago)
    return Ally(
        team_id=team_id,
        user_id=owner,
        ally_id=other,
        cadence_days=cadence,
        created_at=added,
        last_contact_at=added,
        last_contact_day=added.date(),
        due_day=(added + timedelta(days=cadence)).date(),
    )


async def insights_of(db: Database, team_id: str, user_id: str) -> PersonInsights:
    async with db.session() as session:
        return await person_insights(session, team_id=team_id, user_id=user_id, now=NOW)


async def test_a_person_with_no_data_sees_not_enough_yet_for_each_figure(db: Database) -> None:
    mine = await insights_of(db, new_id("T"), new_id("U"))
    assert mine.current.breadth == Ratio(0, 0) and not mine.current.breadth_enough
    assert not mine.current.reciprocity_enough
    assert not mine.current.follow_through_enough
    assert not mine.current.rhythm_enough
    lines = insight_lines(mine)
    assert len(lines) == 4 and all("not enough yet" in line for line in lines)
    assert all("_Try:" in line for line in lines)


async def test_breadth_counts_people_outside_the_usual_circle_with_a_trend(db: Database) -> None:
    team, ann, ally_x, frequent, new = (new_id(p) for p in ("T", "U", "U", "U", "U"))
    async with db.session() as session:
        session.add(ally(team, ann, ally_x, 14, added_days_ago=200))
        # A frequent partner in the 90 days before the window: 3 kudos exchanged.
        session.add_all(kudos(team, ann, frequent, d) for d in (100, 120))
        session.add(kudos(team, frequent, ann, 110))
        # In the window: the ally, the frequent partner, and someone new.
        session.add_all(kudos(team, ann, who, 10) for who in (ally_x, frequent, new))
        session.add(kudos(team, ann, new, 20))
    mine = await insights_of(db, team, ann)
    assert mine.current.breadth == Ratio(part=1, whole=3)
    # Before: only the frequent partner, who was outside the circle of the 90 days before that.
    assert mine.previous.breadth == Ratio(part=1, whole=1)
    assert mine.breadth_trend is Trend.UP
    line = insight_lines(mine)[0]
    assert "you recognised 3 people in 90 days, 1 of them outside your usual circle" in line
    assert "up from 1 in the 90 days before" in line


async def test_reciprocity_of_a_fully_reciprocal_pair_and_of_a_one_way_giver(
    db: Database,
) -> None:
    team, ann, bob, cy = (new_id(p) for p in ("T", "U", "U", "U"))
    async with db.session() as session:
        session.add_all([kudos(team, ann, bob, 5), kudos(team, bob, ann, 6)])  # the pair
        session.add(kudos(team, cy, ann, 7))  # cy recognised ann; ann never cy
    ann_now = await insights_of(db, team, ann)
    assert ann_now.current.reciprocity == Ratio(part=1, whole=2)
    assert ann_now.current.reciprocity_enough
    assert "of the 2 people who recognised you, you recognised 1 back" in insight_lines(ann_now)[1]
    bob_now = await insights_of(db, team, bob)
    assert bob_now.current.reciprocity == Ratio(part=1, whole=1)  # fully reciprocal
    assert bob_now.current.reciprocity.share == 1.0
    assert not bob_now.current.reciprocity_enough  # one person is too few to read
    async with db.session() as session:
        session.add(kudos(team, ann, cy, 1))
    assert (await insights_of(db, team, ann)).current.reciprocity == Ratio(2, 2)


async def test_follow_through_counts_promises_kept_on_time_against_the_previous_window(
    db: Database,
) -> None:
    team, ann = new_id("T"), new_id("U")
    async with db.session() as session:
        session.add_all(
            [
                commitment(team, ann, 10, kept=True),
                commitment(team, ann, 20, kept=True),
                commitment(team, ann, 30, kept=False),
                commitment(team, ann, 100, kept=True),
                commitment(team, ann, 150, kept=True),
                commitment(team, ann, 200, kept=False),  # older than both windows
            ]
        )
    mine = await insights_of(db, team, ann)
    assert mine.current.follow_through == Ratio(2, 3)
    assert mine.previous.follow_through == Ratio(2, 2)
    assert mine.follow_through_trend is Trend.DOWN
    assert "2 of 3 promises kept on time in 90 days (down from 100%" in insight_lines(mine)[2]


async def test_check_in_rhythm_is_allies_in_touch_within_their_cadence(db: Database) -> None:
    team, ann, close, distant, promised = (new_id(p) for p in ("T", "U", "U", "U", "U"))
    async with db.session() as session:
        session.add_all(
            [
                ally(team, ann, close, 14, added_days_ago=200),
                ally(team, ann, distant, 7, added_days_ago=200),
                ally(team, ann, promised, 14, added_days_ago=200),
            ]
        )
        for days in (5, 95):  # a check-in now and one just before the previous window ended
            session.add(
                CheckIn(
                    team_id=team,
                    user_id=ann,
                    ally_id=close,
                    at=NOW - timedelta(days=days),
                    source="command",
                )
            )
        session.add(kudos(team, distant, ann, 30))  # contact, but longer ago than 7 days
        kept = commitment(team, promised, 3, kept=True)  # a promise to ann, kept 3 days ago
        session.add(kept)
        await session.flush()
        session.add(CommitmentParty(commitment_id=kept.id, team_id=team, user_id=ann))
    mine = await insights_of(db, team, ann)
    assert mine.current.rhythm == Ratio(2, 3)
    assert mine.previous.rhythm == Ratio(1, 3)
    assert mine.rhythm_trend is Trend.UP
    line = insight_lines(mine)[3]
    assert "2 of your 3 allies in touch within the rhythm you chose (up from 33%" in line


async def test_me_blocks_fit_slack(db: Database) -> None:
    from slack_sdk.models.blocks import Block

    blocks = build_me_blocks(await insights_of(db, new_id("T"), new_id("U")))
    for block in blocks:
        assert isinstance(block, Block)
        block.validate_json()


async def test_ally_me_answers_privately_through_slack(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    body, _ = team.command("/kudos", f"<@{bob}> clear write-up of the incident", user_id=ann)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)
    body, key = team.command("/ally", "me", user_id=ann)
    assert (await server.post(body))[0] == 200
    answer = (await slack.wait_for("response_url", _key=key))[0].args
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    text = json.dumps(answer)
    assert "you recognised 1 person in 90 days, 1 of them outside your usual circle" in text
    assert "*Reciprocity:* _not enough yet_" in text
    assert "*Check-in rhythm:* _not enough yet_" in text
