"""Whatever allybot accepts renders within Slack's limits: a promise typed in the modal grows
when escaped (each `<`, `>`, `&` is 4-5 characters of markup), and a few long promises add up
in `/commit list`. Each DM, reply and daily message still reaches Slack, whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import text as texts
from bot.db import Database
from bot.workdays import add_working_days
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import blocks_of, dms, tick, today, working_day_on_or_after
from tests.test_dm_budget_e2e import held_of, promise, replies, run, set_budget, settle
from tests.test_privacy_e2e import ally

TZ = "Europe/London"


def texts_of(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn text in the blocks (sections and context elements)."""
    out = [b["text"]["text"] for b in blocks if isinstance(b.get("text"), dict)]
    for b in blocks:
        out += [e["text"] for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    return out


def within_limits(call: Call) -> None:
    for text in texts_of(blocks_of(call)):
        assert len(text) <= texts.SECTION_LIMIT
        assert "&lt" not in text.replace("&lt;", "")  # no entity cut in half


async def modal_promise(server: Server, team: Team, owner: str, to: str, what: str) -> None:
    due = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
    body = payloads.view_submission(
        user_id=owner,
        team_id=team.team_id,
        callback_id="commit_modal",
        private_metadata=json.dumps({"from": "shortcut"}),
        state_values={
            "what": {"what": {"type": "plain_text_input", "value": what}},
            "due": {"due": {"type": "datetimepicker", "selected_date_time": due}},
            "parties": {"parties": {"type": "multi_users_select", "selected_users": [to]}},
        },
    )
    status, answer = await server.post(body)
    assert status == 200 and "errors" not in answer


async def test_a_modal_promise_that_grows_when_escaped_still_reaches_its_party(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    await modal_promise(server, team, ann, bob, "<" * 1000)
    await settle(db, team.team_id)
    (dm,) = [c for c in slack.calls_to("chat.postMessage", channel=bob) if c.ok]
    within_limits(dm)
    (text,) = [t for t in texts_of(blocks_of(dm)) if "committed to" in t]
    assert "&lt;&lt;" in text and "…" in text and text.endswith("your time.")
    assert "delivery failed" not in server.log()


async def test_one_long_held_promise_does_not_cost_the_recipient_their_daily_message(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    await set_budget(db, team.team_id, daily_dm_budget=1)
    await promise(server, team, slack, db, ann, bob, "first thing")
    await promise(server, team, slack, db, ann, bob, "second thing, held")
    await modal_promise(server, team, ann, bob, "<>&" * 333)
    await settle(db, team.team_id)
    assert len(await held_of(db, team.team_id, bob)) == 2
    await tick(database_url, slack, team, working_day_on_or_after(today() + timedelta(days=1)))
    daily = [
        c
        for c in slack.calls_to("chat.postMessage", channel=bob)
        if c.ok and "Since your last message" in json.dumps(blocks_of(c))
    ]
    assert len(daily) == 1
    within_limits(daily[0])
    shown = json.dumps(blocks_of(daily[0]))
    assert "second thing, held" in shown and "&lt;&gt;&amp;" in shown
    assert all(n.status != "planned" for n in await held_of(db, team.team_id, bob))


async def test_commit_list_of_long_promises_answers_in_one_section_each(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    for i in range(4):
        what = f"item {i} " + "write the migration notes " * 34
        await promise(server, team, slack, db, ann, bob, what)
    key = await run(server, team, "/commit", "list", ann)
    await settle(db, team.team_id)
    assert replies(slack, key)
    (answer,) = slack.calls_to("response_url", _key=key)
    within_limits(answer)
    listed = [t for t in texts_of(blocks_of(answer)) if "write the migration notes" in t]
    assert [t[:7] for t in listed] == ["1. *ite", "2. *ite", "3. *ite", "4. *ite"]


async def test_a_modal_promise_full_of_names_still_reaches_its_party_whole(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Each `<@U…>` typed in the modal of someone the promise is not to is kept as a name
    (`<~U…>`, 14 characters) and shown as that name, up to 80 characters and more once
    escaped: the text is cut for what it will be once shown, so every section stays
    within Slack's limit and ends in one piece."""
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    zeb = team.user("z&" * 40, tz=TZ)
    await ally(server, team, slack, zeb, "me")  # allybot holds zeb's long name
    what = f"<@{zeb}> " * 66
    assert len(what.strip()) <= 1000
    await modal_promise(server, team, ann, bob, what.strip())
    await settle(db, team.team_id)
    (dm,) = [c for c in slack.calls_to("chat.postMessage", channel=bob) if c.ok]
    within_limits(dm)
    (text,) = [t for t in texts_of(blocks_of(dm)) if "committed to" in t]
    assert "@z&amp;z" in text and text.endswith("your time.")


async def test_a_resolve_topic_full_of_names_still_reaches_its_follow_up_whole(
    server: Server, team: Team, slack: SlackDouble, database_url: str
) -> None:
    """A topic of `/ally resolve` keeps anyone but the person it is about as a name
    (`<~U…>`), shown as up to 81 characters: the follow-up DM two working days later quotes
    the topic cut for what it will be once shown, within a section's limit."""
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    zeb = team.user("z&" * 40, tz=TZ)
    await ally(server, team, slack, zeb, "me")  # allybot holds zeb's long name
    topic = " ".join([f"<@{zeb}>"] * 66)
    assert len(topic) <= 1000
    reply = await ally(server, team, slack, ann, f"resolve <@{bob}> {topic}")
    within_limits(reply)
    # The guide's steps after the long topic are all there, in a section of their own.
    shown = "\n".join(texts_of(blocks_of(reply)))
    assert "Talk to them, not about them" in shown
    assert str(reply.args["text"]).splitlines()[-1] in shown
    await tick(database_url, slack, team, add_working_days(today(), 2))
    (asked,) = dms(slack, ann, "resolve_not_yet")
    within_limits(asked)
    (text,) = [t for t in texts_of(blocks_of(asked)) if "Did you get to talk" in t]
    assert "@z&amp;z" in text and text.endswith("?")
