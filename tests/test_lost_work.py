"""Someone whose command an erase deleted mid-way hears that it did not go through, in
words naming nobody; a run whose delivery another process took over says nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.db import Database
from bot.inbox import Fresh
from bot.models import Inbound, Person
from bot.services import inbound, privacy
from handlers.lost_work import response_url
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import new_id, running_bot, settled
from tests.slack_double import SlackDouble
from tests.test_commitments_e2e import edit_modal, track_modal
from tests.test_erasure_e2e import erase_while_slack_is_asked
from tests.test_lease_fence import _Erasable, _record, _Stallable, erasing, run_meddled


@pytest.fixture(autouse=True)
def _renewals_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))


async def test_a_command_erased_mid_way_is_answered_and_names_nobody(
    database_url: str, slack: SlackDouble
) -> None:
    ann, bob, team, key = new_id("U"), new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")
    await run_meddled(
        database_url,
        slack,
        _Erasable(bob, team),
        erasing(team, bob),
        text=f"<@{bob}> for the demo",
        user_id=ann,
        response_url=slack.response_url(key),
    )
    (said,) = slack.calls_to("response_url", _key=key)
    assert said.args["response_type"] == "ephemeral"
    assert "couldn't finish that" in said.args["text"] and bob not in str(said.args)
    assert "erase" not in str(said.args).lower()


async def test_a_command_taken_over_by_another_process_is_not_answered_here(
    database_url: str, slack: SlackDouble
) -> None:
    bob, team, key = new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")

    async def claimed_elsewhere(db: Database, fresh: Fresh) -> None:
        async with db.session() as session:
            await session.execute(
                update(Inbound).where(Inbound.id == fresh.id).values(attempts=Inbound.attempts + 1)
            )

    await run_meddled(
        database_url,
        slack,
        _Erasable(bob, team),
        claimed_elsewhere,
        text="for the demo",
        user_id=new_id("U"),
        response_url=slack.response_url(key),
    )
    assert slack.calls_to("response_url", _key=key) == []


async def test_a_run_taken_over_before_the_erase_leaves_the_answer_to_its_new_owner(
    fresh_db: tuple[str, Database], slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalls past its lease and B takes the command over; then bob, whom it names, erases
    his data, deleting the delivery under B's run (which answers the sender). A wakes up to
    find the delivery gone: it was not A's any more, so A says nothing (the sender would
    hear the same words twice)."""
    url, _ = fresh_db
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))  # 10 s in production
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=60))  # stalled: none
    ann, bob, team, key = new_id("U"), new_id("U"), new_id("T"), new_id("R")
    slack.add_user(ann, team_id="T1")
    handler = _Stallable(ann)
    handler.stall_version = inbound.CLAIMED_AT_BIRTH
    async with running_bot(url, slack) as a:
        a.inbox.handlers["post"] = handler
        fresh = await _record(
            a.db,
            team,
            1,
            text=f"<@{bob}> for the demo",
            user_id=ann,
            response_url=slack.response_url(key),
        )
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.stalled.wait(), 10)
        await asyncio.sleep(inbound.LEASE.total_seconds() + 0.2)  # A's lease runs out
        async with a.db.session() as session:  # B's claim, its run under way
            await session.execute(
                update(Inbound).where(Inbound.id == fresh.id).values(attempts=Inbound.attempts + 1)
            )
        async with a.db.session() as session:
            await privacy.erase(session, team_id=team, user_id=bob)
        handler.go_on.set()  # A wakes up
        await a.inbox.drain()
    assert slack.calls_to("response_url", _key=key) == []


async def test_a_run_erased_while_its_lease_held_is_answered_however_long_it_then_takes(
    database_url: str, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erase is found (a renewal) while the lease is fresh; the run itself stops only
    later, after a long wait of its own (a slow Slack call): it was erased, not taken over,
    and its sender is answered."""
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=3))  # renewals every 0.2 s
    ann, bob, team, key = new_id("U"), new_id("U"), new_id("T"), new_id("R")
    slack.add_user(bob, team_id="T1")

    async def erase_then_wait(db: Database, fresh: Fresh) -> None:
        await erasing(team, bob)(db, fresh)
        await asyncio.sleep(inbound.LEASE.total_seconds() / 2 + 0.5)  # the run's own wait

    await run_meddled(
        database_url,
        slack,
        _Erasable(bob, team),
        erase_then_wait,
        text=f"<@{bob}> for the demo",
        user_id=ann,
        response_url=slack.response_url(key),
    )
    (said,) = slack.calls_to("response_url", _key=key)
    assert "couldn't finish that" in said.args["text"]


async def test_a_channel_kudos_erased_mid_way_is_answered_in_its_channel(
    database_url: str, slack: SlackDouble
) -> None:
    """A kudos written in a channel ("kudos @bob for the demo") has no response_url: when
    bob erases his data while it is worked on, its giver still hears it did not go through,
    privately, in the channel where they wrote it, in words naming nobody."""
    ann, bob, team, channel = new_id("U"), new_id("U"), new_id("T"), new_id("C")
    slack.add_user(bob, team_id="T1")
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": ann,
        "text": f"kudos <@{bob}> for the demo",
        "ts": "1700000000.000100",
    }
    meddled: dict[str, Any] = {"event": event}
    await run_meddled(database_url, slack, _Erasable(bob, team), erasing(team, bob), **meddled)
    (said,) = slack.calls_to("chat.postEphemeral", channel=channel)
    assert said.args["user"] == ann
    assert "couldn't finish that" in said.args["text"] and bob not in str(said.args)


async def test_a_modal_kudos_erased_mid_way_is_answered_in_the_channel_it_was_opened_on(
    database_url: str, slack: SlackDouble
) -> None:
    """The "Give kudos for this" shortcut submits a modal, which has no response_url: its
    giver hears, privately in the message's channel, that it did not go through."""
    ann, bob, team, channel = new_id("U"), new_id("U"), new_id("T"), new_id("C")
    slack.add_user(bob, team_id="T1")
    meddled: dict[str, Any] = {
        "type": "view_submission",
        "user": {"id": ann},
        "view": {
            "callback_id": "give_kudos_for_message",
            "private_metadata": json.dumps({"channel": channel, "ts": "1.2", "permalink": None}),
            "state": {"values": {"receiver": {"receiver": {"selected_user": bob}}}},
        },
    }
    await run_meddled(database_url, slack, _Erasable(bob, team), erasing(team, bob), **meddled)
    (said,) = slack.calls_to("chat.postEphemeral", channel=channel)
    assert said.args["user"] == ann and "couldn't finish that" in said.args["text"]


async def test_a_promise_modal_erased_before_its_handler_is_answered_through_its_metadata(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The promise modal (Edit on `/commit`'s reply) keeps the reply's response_url only in
    its private_metadata; its submission has none of its own. bob, the party, erases his data
    while the run asks Slack for ann's profile, before the handler reads the metadata: ann
    still hears, once, through that response_url, that it did not go through."""
    ann, bob = team.user("ann"), team.user("bob")
    view = await edit_modal(
        server, team, slack, ann, bob, f"send the plan to <@{bob}> by 2030-01-01"
    )
    await _submitted_while_erased(server, team, slack, db, view, ann=ann, bob=bob)


async def test_a_tracked_message_erased_before_its_handler_is_answered_through_its_metadata(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The same for the promise modal the "Track as commitment" shortcut opens: it keeps
    the shortcut's response_url in its metadata."""
    ann, bob = team.user("ann"), team.user("bob")
    view = await track_modal(server, team, slack, ann, bob, "Can you send the figures?")
    await _submitted_while_erased(server, team, slack, db, view, ann=ann, bob=bob)


async def _submitted_while_erased(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    view: dict[str, Any],
    *,
    ann: str,
    bob: str,
) -> None:
    """ann submits the promise modal `view` naming bob, who erases his data while the run
    asks Slack for ann's profile (before the handler): she is answered once, through the
    response_url in the modal's metadata, in words naming nobody."""
    url = json.loads(view["private_metadata"])["response_url"]
    key = url.rsplit("/", 1)[1]
    assert slack.calls_to("response_url", _key=key) == []
    async with db.session() as session:  # her profile is stale: the run asks Slack for it
        await session.execute(
            update(Person)
            .where(Person.team_id == team.team_id, Person.user_id == ann)
            .values(profile_refreshed_at=datetime.now(UTC) - timedelta(days=2))
        )
    named = _naming(slack, bob)
    submission = payloads.view_submission(
        user_id=ann,
        team_id=team.team_id,
        callback_id="commit_modal",
        private_metadata=view["private_metadata"],
        state_values={
            "what": {"what": {"type": "plain_text_input", "value": "send the revised plan"}},
            "due": {"due": {"type": "datetimepicker", "selected_date_time": 1_900_000_000}},
            "parties": {"parties": {"type": "multi_users_select", "selected_users": [bob]}},
            "tell": {"tell": {"type": "checkboxes", "selected_options": []}},
        },
    )
    await erase_while_slack_is_asked(
        server, team, slack, db, submission, asked_for=ann, receiver=bob
    )
    await slack.wait_for("response_url", _key=key)
    await settled(db, team.team_id)
    (said,) = slack.calls_to("response_url", _key=key)
    assert said.args["response_type"] == "ephemeral"
    assert "couldn't finish that" in said.args["text"]
    assert bob not in str(said.args) and ann not in str(said.args)
    assert _naming(slack, bob) == named, "something of the erased run named bob"


def _naming(slack: SlackDouble, user_id: str) -> int:
    """How many messages allybot sent that name `user_id`."""
    methods = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")
    return sum(user_id in str(c.args) for m in methods for c in slack.calls_to(m))


HOOK = "https://hooks.slack.com/commands/T1/1/abc"
API = "https://slack.com/api/"


def _submitted(metadata: Any) -> dict[str, Any]:
    return {"type": "view_submission", "user": {"id": "U1"}, "view": {"private_metadata": metadata}}


@pytest.mark.parametrize(
    "metadata",
    [
        json.dumps({"response_url": "http://evil.example/x"}),
        json.dumps({"response_url": "evil.example/x"}),
        json.dumps({"response_url": 42}),
        json.dumps({"response_url": ["https://hooks.slack.com/x"]}),
        json.dumps(["https://hooks.slack.com/x"]),
        json.dumps("https://hooks.slack.com/x"),
        "https://hooks.slack.com/x",
        "{not json",
        7,
        None,
    ],
)
def test_a_response_url_in_a_modals_metadata_that_is_not_slacks_is_ignored(
    metadata: Any,
) -> None:
    assert response_url(_submitted(metadata), slack_api_url=API) is None


def test_a_response_url_is_the_payloads_own_else_slacks_from_the_metadata() -> None:
    meta = json.dumps({"response_url": HOOK, "from": "commit_edit"})
    assert response_url(_submitted(meta), slack_api_url=API) == HOOK
    own = {**_submitted(meta), "response_url": "https://hooks.slack.com/own"}
    assert response_url(own, slack_api_url=API) == "https://hooks.slack.com/own"
    assert response_url({"view": "not a view"}, slack_api_url=API) is None


def test_a_response_url_at_the_slack_api_origin_is_taken_even_without_https() -> None:
    """A deployment pointed at a stand-in for Slack (SLACK_API_URL over http) gets its
    response_urls from there; another host, port or a user-info trick is not it."""
    api = "http://127.0.0.1:4000/api/"
    ok = "http://127.0.0.1:4000/response/k"
    assert response_url(_submitted(json.dumps({"response_url": ok})), slack_api_url=api) == ok
    for other in ("http://127.0.0.1:40001/r", "http://127.0.0.1:4000@evil.example/r"):
        body = _submitted(json.dumps({"response_url": other}))
        assert response_url(body, slack_api_url=api) is None
