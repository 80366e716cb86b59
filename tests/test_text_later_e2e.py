"""What people write, on the surfaces the generated-text test (tests/test_text_e2e.py)
leaves out: `/ally resolve` and the follow-up its topic comes back in, `/ally met`, a DM to
allybot, every subcommand's answer, and the Home tabs that show a kudos reason or a promise:
no group ping, no hidden link, no unintended mention, within Slack's limits.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from allybot.app import AllyBot
from bot.db import Database
from bot.models import Inbound
from bot.text import Source
from bot.workdays import add_working_days
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server
from tests.helpers import at, running_bot
from tests.slack_double import SlackDouble
from tests.test_commitments_e2e import TZ, today
from tests.test_text_e2e import HYPOTHESIS, Example, _commit_modal, _no_surrogates
from tests.text_checks import mrkdwn_texts, person_text, problems


def _view_problems(ex: Example, meant: set[str]) -> list[str]:
    """Every mrkdwn text of every view allybot published or opened in this example."""
    found: list[str] = []
    for call in ex.calls():
        if call.method not in {"views.publish", "views.open", "views.update"} or not call.ok:
            continue
        view: Any = call.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        for text in mrkdwn_texts(view.get("blocks") or []):
            found += problems(text, meant=meant)
    return found


async def _given(server: Server, ex: Example, db: Database, command: str, text: str) -> None:
    """The giver runs `command` with `text`; its delivery is done."""
    body, key = ex.team.command(command, text, user_id=ex.giver)
    ex.ids.add(key)
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)


async def _ally(server: Server, ex: Example, db: Database, sub: str) -> None:
    await _given(server, ex, db, "/ally", f"{sub} <@{ex.ann}> {ex.text}")


async def _recorded(ex: Example, db: Database) -> int:
    async with db.session() as session:
        stmt = select(func.count()).where(Inbound.team_id == ex.team.team_id)
        return int((await session.execute(stmt)).scalar_one())


async def _home(server: Server, ex: Example, db: Database, user: str) -> None:
    recorded = await _recorded(ex, db) + 1
    event = payloads.app_home_opened_event(user=user, team_id=ex.team.team_id)
    body = payloads.event_callback(
        event, team_id=ex.team.team_id, event_id=payloads.fresh_event_id()
    )
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=recorded)
    await ex.slack.wait_for("views.publish", user_id=user)


@pytest.fixture
async def passes(database_url: str, slack: SlackDouble) -> AsyncIterator[AllyBot]:
    """allybot in this process for the scheduler's passes, one for all of a test's examples
    (each example is a workspace of its own)."""
    async with running_bot(database_url, slack) as bot:
        yield bot


@HYPOTHESIS
@given(text=person_text(("U0ANN",)))
async def test_generated_topic_through_ally_resolve_and_its_follow_up(
    server: Server, slack: SlackDouble, db: Database, passes: AllyBot, text: str
) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    await _ally(server, ex, db, "resolve")
    follow_up = at(f"{add_working_days(today(), 2)} 09:05", TZ)
    await run_pass(passes, now=follow_up, team_id=ex.team.team_id)
    ex.check(surface="/ally resolve")


@HYPOTHESIS
@given(text=person_text(("U0ANN",)))
async def test_generated_note_through_ally_met_and_home(
    server: Server, slack: SlackDouble, db: Database, text: str
) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    await _ally(server, ex, db, "met")
    await _home(server, ex, db, ex.giver)
    ex.check(surface="/ally met")
    assert _view_problems(ex, {ex.giver, ex.ann}) == [], ex.text


@HYPOTHESIS
@given(text=person_text(("U0ANN",)))
async def test_generated_kudos_reason_on_the_receivers_home(
    server: Server, slack: SlackDouble, db: Database, text: str
) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    await _given(server, ex, db, "/kudos", f"<@{ex.ann}> {ex.text}")
    await _both_homes_checked(server, ex, db, "/kudos then Home")


async def _both_homes_checked(server: Server, ex: Example, db: Database, surface: str) -> None:
    """Both people's Home tabs opened, and everything Slack was sent checked."""
    await _home(server, ex, db, ex.ann)
    await _home(server, ex, db, ex.giver)
    ex.check(surface=surface)
    assert _view_problems(ex, {ex.giver, ex.ann}) == [], ex.text


ALLY_SUBS = [
    "add",
    "remove",
    "met",
    "mute",
    "unmute",
    "pause",
    "quiet",
    "tips",
    "kudos",
    "language",
    "me",
    "report",
    "export",
    "intros",
    "intros never",
    "intros welcome",
    "intros in",
    "intros pause",
    "intros join",
    "intros",
    "text",
    "xyz",
    "",
    "help",
    "resume",
]
COMMIT_SUBS = ["", "list", "done", "drop", "help"]


@HYPOTHESIS
@given(
    text=person_text(("U0ANN",)),
    which=st.sampled_from(
        [("/ally", s) for s in ALLY_SUBS]
        + [("/commit", s) for s in COMMIT_SUBS]
        + [("/kudos", ""), ("/kudos", "private")]
    ),
)
async def test_generated_text_after_every_subcommand(
    server: Server, slack: SlackDouble, db: Database, text: str, which: tuple[str, str]
) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    command, sub = which
    body, key = ex.team.command(command, f"{sub} {ex.text}".strip(), user_id=ex.giver)
    ex.ids.add(key)
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.group = None  # not every subcommand carries text on: only what reaches Slack counts
    ex.check(surface=f"{command} {sub}")


@HYPOTHESIS
@given(text=person_text(("U0ANN",)), lead=st.sampled_from(["kudos ", "/kudos ", "", ":tada: "]))
async def test_generated_text_in_a_dm_with_allybot(
    server: Server, slack: SlackDouble, db: Database, text: str, lead: str
) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    event = payloads.message_event(
        channel=slack.dm_id(ex.giver),
        user=ex.giver,
        text=f"{lead}<@{ex.ann}> {ex.text}",
        team=ex.team.team_id,
        channel_type="im",
    )
    body = payloads.event_callback(
        event, team_id=ex.team.team_id, event_id=payloads.fresh_event_id()
    )
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.check(surface=f"DM {lead}")


@HYPOTHESIS
@given(text=person_text(("U0ANN",)), modal=st.booleans())
async def test_generated_promise_on_both_homes(
    server: Server, slack: SlackDouble, db: Database, text: str, modal: bool
) -> None:
    if modal:
        ex = Example(slack, text, Source.INPUT)
        await _commit_modal(ex, server, db, ex.text, "commitment modal then Home")
        ex.group = None  # a refusal in the modal was checked there: it shows under the field
    else:
        ex = Example(slack, _no_surrogates(text), Source.MARKUP)
        await _given(server, ex, db, "/commit", f"{ex.text} to <@{ex.ann}>")
    await _both_homes_checked(server, ex, db, "promise then Home")
