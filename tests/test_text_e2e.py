"""What people write, through every surface, as Slack sends it, to what reaches the Slack
double: no group ping, no hidden link, no unintended mention, within Slack's limits, and the
person told privately when allybot refused.

Hypothesis generates the text (Unicode, control and invisible characters, Slack's `<…>`
tokens and crafted look-alikes, a thousand line breaks, long text). Each example is a fresh
workspace, so examples never meet each other's limits. `ALLYBOT_TEXT_EXAMPLES` sets how many
examples each surface tries (default 25); the tally is printed with `-s`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy import func, select

from bot import text as texts
from bot.db import Database
from bot.models import Inbound
from bot.text import Source
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import Call, SlackDouble
from tests.text_checks import mrkdwn_texts, person_text, problems

EXAMPLES = int(os.environ.get("ALLYBOT_TEXT_EXAMPLES", "25"))
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TALLY: Counter[str] = Counter()
SENDS = {"chat.postMessage", "chat.postEphemeral", "chat.update", "response_url"}
VIEWS = {"views.open", "views.publish", "views.update", "views.push"}


def _no_surrogates(text: str) -> str:
    """A form body is UTF-8: Slack never sends a lone surrogate there."""
    return text.encode("utf-8", "ignore").decode("utf-8")


class Example:
    """One generated text on one surface, in a workspace of its own."""

    def __init__(self, slack: SlackDouble, text: str, source: Source) -> None:
        self.slack = slack
        self.team = Team(slack=slack)
        self.giver = self.team.user("giver")
        self.ann = self.team.user("ann")
        self.text = text.replace("U0ANN", self.ann)  # the generated mentions of "ann"
        self.source = source
        self.started = len(slack.calls)
        self.ids = {self.team.channel_id, self.giver, self.ann, slack.dm_id(self.giver)}
        self.ids.add(slack.dm_id(self.ann))
        self.group = texts.group_mention(texts.clean(self.text), source)

    def calls(self) -> list[Call]:
        mine = []
        for call in self.slack.calls[self.started :]:
            dumped = json.dumps(call.args, default=str)
            if any(i in dumped for i in self.ids) or self.team.team_id in dumped:
                mine.append(call)
        return mine

    async def settle(self, db: Database, *, recorded: int, timeout: float = 20.0) -> None:
        """Until allybot finished every delivery of this workspace."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with db.session() as session:
                rows = (
                    await session.execute(
                        select(Inbound.status, func.count())
                        .where(Inbound.team_id == self.team.team_id)
                        .group_by(Inbound.status)
                    )
                ).all()
            counts = {status: n for status, n in rows}
            if sum(counts.values()) >= recorded and not counts.get("pending"):
                assert not counts.get("failed"), f"a delivery failed: {counts}"
                return
            await asyncio.sleep(0.02)  # as tests.helpers.settled: most take a few tens of ms
        raise AssertionError("allybot did not finish:\n" + self.slack.describe_calls())

    def check(self, *, refused_reply: str | None = None, surface: str) -> None:
        """What reached Slack is safe and fits; a group mention was refused privately."""
        meant = {self.giver, self.ann}
        found: list[str] = []
        to_others = False
        private = refused_reply is not None
        for call in self.calls():
            if not call.ok and call.method != "response_url":
                continue
            if call.method in SENDS:
                channel = str(call.args.get("channel") or "")
                ephemeral = call.method == "chat.postEphemeral" or (
                    call.method == "response_url"
                    and call.args.get("response_type", "ephemeral") == "ephemeral"
                )
                mine = ephemeral or channel in (self.giver, self.slack.dm_id(self.giver))
                # A private answer may name whoever the person mentioned: it pings nobody.
                anyone = meant | set(texts.mentioned(json.dumps(call.args))) if mine else meant
                found += problems(str(call.args.get("text") or ""), meant=anyone)
                found += _block_problems(call.args.get("blocks"), anyone)
                if mine:
                    private = True
                else:
                    to_others = True
                if len(str(call.args.get("text") or "")) > 4000:
                    found.append("a text fallback over 4,000 characters")
            elif call.method in VIEWS:
                view = call.args["view"]
                view = json.loads(view) if isinstance(view, str) else view
                try:
                    View(**view).validate_json()
                except Exception as exc:  # slack_sdk's checks of Slack's limits
                    found.append(f"view outside Slack's limits: {exc}")
        TALLY[f"{surface}: tried"] += 1
        if self.group:
            TALLY[f"{surface}: with a group mention"] += 1
            if to_others:
                found.append(f"a text with {self.group} reached someone else")
            if not private:
                found.append("refused without telling the person")
        if found:
            TALLY[f"{surface}: got through"] += 1
        assert found == [], (self.text, found)


def _block_problems(blocks: Any, meant: set[str]) -> list[str]:
    if not blocks:
        return []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    found = []
    for block in blocks:
        try:
            parsed = Block.parse(block)
            assert parsed is not None
            parsed.validate_json()
            parsed.to_dict()
        except Exception as exc:
            found.append(f"block outside Slack's limits: {exc}")
    for text in mrkdwn_texts(blocks):
        found += problems(text, meant=meant)
    return found


def _errors(body: str) -> dict[str, str]:
    return dict(json.loads(body).get("errors") or {}) if body.strip() else {}


Surface = Callable[[Server, SlackDouble, Database, str], Awaitable[None]]


async def slash_kudos(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    body, key = ex.team.command("/kudos", f"<@{ex.ann}> {ex.text}", user_id=ex.giver)
    ex.ids.add(key)
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.check(surface="/kudos")


async def slash_commit(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    ex = Example(slack, _no_surrogates(text), Source.MARKUP)
    body, key = ex.team.command("/commit", f"{ex.text} to <@{ex.ann}>", user_id=ex.giver)
    ex.ids.add(key)
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.check(surface="/commit")


async def give_kudos_modal(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    ex = Example(slack, text, Source.INPUT)
    meta = json.dumps({"channel": ex.team.channel_id, "ts": payloads.fresh_ts()})
    body = payloads.view_submission(
        user_id=ex.giver,
        team_id=ex.team.team_id,
        callback_id="give_kudos_for_message",
        private_metadata=meta,
        state_values={
            "receiver": {"receiver": {"type": "users_select", "selected_user": ex.ann}},
            "reason": {"reason": {"type": "plain_text_input", "value": ex.text}},
        },
    )
    status, answer = await server.post(body)
    assert status == 200
    errors = _errors(answer)
    if not errors:
        await ex.settle(db, recorded=1)
    ex.check(surface="Give kudos modal", refused_reply=errors.get("reason"))


async def _commit_modal(ex: Example, server: Server, db: Database, what: str, surface: str) -> None:
    due = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
    body = payloads.view_submission(
        user_id=ex.giver,
        team_id=ex.team.team_id,
        callback_id="commit_modal",
        private_metadata=json.dumps({"from": "shortcut"}),
        state_values={
            "what": {"what": {"type": "plain_text_input", "value": what}},
            "due": {"due": {"type": "datetimepicker", "selected_date_time": due}},
            "parties": {"parties": {"type": "multi_users_select", "selected_users": [ex.ann]}},
        },
    )
    status, answer = await server.post(body)
    assert status == 200
    errors = _errors(answer)
    if not errors:
        await ex.settle(db, recorded=1)
    ex.check(surface=surface, refused_reply=errors.get("what"))


async def commitment_modal(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    ex = Example(slack, text, Source.INPUT)
    await _commit_modal(ex, server, db, ex.text, "commitment modal")


async def track_shortcut(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    """Track as commitment on someone's message: the prefilled modal, then saving it."""
    ex = Example(slack, text, Source.MARKUP)
    ex.ids.add(ex.team.team_id)
    body = payloads.message_shortcut(
        user_id=ex.giver,
        team_id=ex.team.team_id,
        callback_id="track_as_commitment",
        channel_id=ex.team.channel_id,
        message={"type": "message", "user": ex.ann, "ts": payloads.fresh_ts(), "text": ex.text},
        response_url=slack.response_url(ex.team.team_id),
    )
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.group = None  # opening the modal refuses nothing: saving it does
    ex.check(surface="Track as commitment (modal opened)")
    opened = [c for c in ex.calls() if c.method == "views.open"]
    assert opened, slack.describe_calls()
    view = opened[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    what = next(b for b in view["blocks"] if b.get("block_id") == "what")
    prefill = str(what["element"].get("initial_value") or "x")
    saved = Example(slack, prefill, Source.INPUT)
    saved.team, saved.giver, saved.ann, saved.ids = ex.team, ex.giver, ex.ann, ex.ids
    saved.started = len(slack.calls)
    await _commit_modal(saved, server, db, prefill, "Track as commitment (saved)")


async def channel_message(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    ex = Example(slack, text, Source.MARKUP)
    event = payloads.message_event(
        channel=ex.team.channel_id,
        user=ex.giver,
        text=f"kudos <@{ex.ann}> {ex.text}",
        team=ex.team.team_id,
    )
    body = payloads.event_callback(
        event, team_id=ex.team.team_id, event_id=payloads.fresh_event_id()
    )
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.check(surface="channel message")


async def reaction(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
    """The kudos emoji on such a message: its author is recognised; its words are not
    repeated, so there is nothing to refuse."""
    ex = Example(slack, text, Source.MARKUP)
    ex.group = None
    event = payloads.message_event(
        channel=ex.team.channel_id, user=ex.ann, text=ex.text, team=ex.team.team_id
    )
    body = payloads.event_callback(
        event, team_id=ex.team.team_id, event_id=payloads.fresh_event_id()
    )
    assert (await server.post(body))[0] == 200
    reacted = payloads.reaction_added_event(
        user=ex.giver,
        reaction="raised_hands",
        channel=ex.team.channel_id,
        item_ts=event["ts"],
        item_user=ex.ann,
    )
    body = payloads.event_callback(
        reacted, team_id=ex.team.team_id, event_id=payloads.fresh_event_id()
    )
    assert (await server.post(body))[0] == 200
    await ex.settle(db, recorded=1)
    ex.check(surface="reaction")
    posted = json.dumps([c.args for c in ex.calls() if c.method == "chat.postMessage"])
    for word in texts.clean(text).split():
        if len(word) > 8 and word.isalpha():
            assert word not in posted, "the message's words were repeated"


SURFACES: dict[str, Surface] = {
    "slash_kudos": slash_kudos,
    "slash_commit": slash_commit,
    "give_kudos_modal": give_kudos_modal,
    "commitment_modal": commitment_modal,
    "track_shortcut": track_shortcut,
    "channel_message": channel_message,
    "reaction": reaction,
}


def _surface_test(name: str) -> Callable[..., Awaitable[None]]:
    surface = SURFACES[name]

    @HYPOTHESIS
    @given(text=person_text(("U0ANN",)))
    async def test(server: Server, slack: SlackDouble, db: Database, text: str) -> None:
        await surface(server, slack, db, text)

    test.__name__ = f"test_generated_text_through_{name}"
    test.__doc__ = f"Generated text through {name.replace('_', ' ')}: nothing unsafe reaches Slack."
    return test


test_generated_text_through_slash_kudos = _surface_test("slash_kudos")
test_generated_text_through_slash_commit = _surface_test("slash_commit")
test_generated_text_through_give_kudos_modal = _surface_test("give_kudos_modal")
test_generated_text_through_commitment_modal = _surface_test("commitment_modal")
test_generated_text_through_track_shortcut = _surface_test("track_shortcut")
test_generated_text_through_channel_message = _surface_test("channel_message")
test_generated_text_through_reaction = _surface_test("reaction")


def teardown_module() -> None:
    """The tally, for the record (shown with -s)."""
    for key in sorted(TALLY):
        print(f"{key}: {TALLY[key]}")
