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


def _saying_payload() -> str:
    """A /kudos whose text and channel name say "payload" (no field of that name)."""
    return payloads.slash_command(
        command="/kudos",
        text="<@U2|bo> shipped the payload parser",
        user_id="U1",
        team_id="T1",
        channel_id="C1",
        response_url="https://hooks.slack.com/commands/T1/1/x",
        channel_name="payload-team",
    )


def test_a_command_saying_payload_reaches_bolt_whole() -> None:
    body = _saying_payload()
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


async def test_a_lazy_listener_reads_the_same_body_as_its_ack() -> None:
    """Bolt hands a lazy listener a copy of the request (`to_copyable`), which it builds
    again from the raw text: with Bolt's own parse, a command saying "payload" would reach
    the lazy half of a listener empty, though its ack read it whole."""
    import asyncio

    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult

    body = _saying_payload()
    request = bolt_request_of(
        body, read_body(body.encode(), FORM) or {}, "", {"Content-Type": FORM}
    )

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-x")

    app = AsyncApp(name="lazy", authorize=authorize, request_verification_enabled=False)
    seen: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()

    async def ack_it(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.put_nowait(("ack", body.get("text")))

    async def later(body: dict[str, Any], context: Any) -> None:
        seen.put_nowait(("lazy", body.get("text")))
        seen.put_nowait(("lazy team", context.team_id))

    app.command("/kudos")(ack=ack_it, lazy=[later])
    response = await app.async_dispatch(request)
    assert response.status == 200
    got = dict([await asyncio.wait_for(seen.get(), 5) for _ in range(3)])
    assert got == {
        "ack": "<@U2|bo> shipped the payload parser",
        "lazy": "<@U2|bo> shipped the payload parser",
        "lazy team": "T1",
    }


def test_json_nested_past_pythons_recursion_limit_is_refused_not_raised() -> None:
    """json.loads raises RecursionError (not a ValueError) on deep nesting: a signed body
    so nested would end in a traceback and a 500 rather than the 400 of other junk."""
    depth = 100_000
    deep_json = b'{"a":' * depth + b"1" + b"}" * depth
    assert read_body(deep_json, JSON) is None
    deep_payload = "payload=" + "%5B" * depth
    assert read_body(deep_payload.encode(), FORM) is None
