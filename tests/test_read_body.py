"""`bot.verify.read_body`: every body Slack signs is read as Slack wrote it, whatever the
people in it typed (a command's text, a channel's name), and junk is refused."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from bot.verify import bolt_request_of, read_body
from tests import payloads
from tests.signing import FORM, JSON

# What a person types, with the words and characters a form's own syntax uses.
typed = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.sampled_from(["payload", "payload=", "&", "=", "%", "+", "{", "<@U1|x>", "\x00"]),
    ),
    max_size=12,
).map("".join)


@given(text=typed, channel_name=typed, user_name=typed)
def test_a_command_reads_back_as_sent(text: str, channel_name: str, user_name: str) -> None:
    body = payloads.slash_command(
        command="/kudos",
        text=text,
        user_id="U1",
        team_id="T1",
        channel_id="C1",
        response_url="https://hooks.slack.com/commands/T1/1/x",
        channel_name=channel_name,
        user_name=user_name,
    )
    read = read_body(body.encode(), FORM)
    assert read is not None
    assert (read["text"], read["channel_name"], read["user_name"]) == (
        text,
        channel_name,
        user_name,
    )
    assert read["command"] == "/kudos" and read["team_id"] == "T1"


@given(value=typed)
def test_an_interaction_reads_its_payload(value: str) -> None:
    payload: dict[str, Any] = {"type": "block_actions", "team": {"id": "T1"}, "x": value}
    assert read_body(payloads.form_payload(payload).encode(), FORM) == payload


def test_a_command_saying_payload_reaches_bolt_whole() -> None:
    body = payloads.slash_command(
        command="/kudos",
        text="<@U2|bo> shipped the payload parser",
        user_id="U1",
        team_id="T1",
        channel_id="C1",
        response_url="https://hooks.slack.com/commands/T1/1/x",
        channel_name="payload-team",
    )
    read = read_body(body.encode(), FORM)
    assert read is not None
    request = bolt_request_of(body, read, "", {"Content-Type": FORM})
    assert request.body["text"] == "<@U2|bo> shipped the payload parser"
    assert request.context.team_id == "T1" and request.context.user_id == "U1"
    assert request.raw_body == body  # what Bolt's own signature check reads


def test_events_are_json_objects_only() -> None:
    event = {"type": "event_callback", "team_id": "T1", "event": {"type": "message"}}
    assert read_body(json.dumps(event).encode(), JSON) == event
    for junk in [b"[1, 2]", b'"text"', b"{broken", b"", b"\xff\xfe"]:
        assert read_body(junk, JSON) is None, junk


def test_junk_forms_are_refused() -> None:
    for junk in [
        urlencode({"payload": "[1]"}),
        urlencode({"payload": "not json"}),
        urlencode({"payload": ""}),
        urlencode([("payload", "{}"), ("payload", "[1]")]),  # Bolt reads the last one
        "{not a form}",
    ]:
        assert read_body(junk.encode(), FORM) is None, junk
    assert read_body(b"\xff", FORM) is None
    assert read_body(b"", FORM) == {}
