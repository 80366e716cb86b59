"""The Slack double answers slack_sdk and Bolt as Slack does, so allybot's tests mean something."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests import payloads
from tests.signing import signed_headers, signed_post
from tests.slack_double import (
    NEWER_THAN_SPEC,
    SPEC_PATH,
    SlackDouble,
    spec_available,
    spec_methods,
    spec_required_args,
)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-test"
SECRET = "double-test-secret"
needs_spec = pytest.mark.skipif(
    not spec_available(), reason=f"Slack's OpenAPI spec is not at {SPEC_PATH}"
)


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble(bot_token=TOKEN) as slack:
        yield slack


@pytest.fixture
def client(double: SlackDouble) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=double.url)


async def api_error(call: Any) -> SlackApiError:
    """The SlackApiError slack_sdk raises for a refused call."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# -- recording and transport ------------------------------------------------


async def test_post_message_is_recorded_with_args(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    response = await client.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    assert response["ok"] is True
    assert response["channel"] == "C1"
    assert response["message"]["text"] == "hi"
    assert response["message"]["blocks"] == blocks
    assert response["message"]["bot_id"] == "BALLYBOT"
    [call] = double.calls_to("chat.postMessage", channel="C1")
    assert call.token == TOKEN
    assert call.args["blocks"] == blocks
    assert call.ok and call.status == 200 and call.error is None
    assert call.at <= time.monotonic()


async def test_form_query_and_token_field_are_all_understood(double: SlackDouble) -> None:
    double.add_user("U1", name="ann")
    async with aiohttp.ClientSession() as http:
        form = {"token": TOKEN, "channel": "C1", "text": "from a form", "unfurl_links": "false"}
        async with http.post(f"{double.url}chat.postMessage", data=form) as resp:
            assert (await resp.json())["ok"] is True
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(f"{double.url}users.info?user=U1", headers=headers) as resp:
            assert (await resp.json())["user"]["name"] == "ann"
        async with http.post(f"{double.url}auth.test", json={"token": TOKEN}) as resp:
            assert (await resp.json())["error"] == "not_authed"
    [post] = double.calls_to("chat.postMessage", unfurl_links=False)
    assert post.token == TOKEN and "token" not in post.args
    assert double.calls_to("users.info", user="U1")[0].token == TOKEN


async def test_ts_values_strictly_increase(client: AsyncWebClient) -> None:
    responses = await asyncio.gather(
        *(client.chat_postMessage(channel="C1", text=str(n)) for n in range(20))
    )
    stamps = [r["ts"] for r in responses]
    assert len(set(stamps)) == 20
    assert sorted(stamps, key=float) == sorted(stamps)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


async def test_unknown_method(double: SlackDouble, client: AsyncWebClient) -> None:
    error = await api_error(client.api_call("allybot.nonsense"))
    assert error.response.status_code == 200
    assert error.response["error"] == "unknown_method"
    assert double.calls_to("allybot.nonsense")[0].error == "unknown_method"


async def test_missing_or_unknown_token(double: SlackDouble) -> None:
    error = await api_error(AsyncWebClient(base_url=double.url).auth_test())
    assert error.response["error"] == "not_authed"
    error = await api_error(AsyncWebClient(token="xoxb-wrong", base_url=double.url).auth_test())
    assert error.response["error"] == "invalid_auth"
    double.revoke_token(TOKEN)
    error = await api_error(AsyncWebClient(token=TOKEN, base_url=double.url).auth_test())
    assert error.response["error"] == "token_revoked"
    assert [c.error for c in double.calls] == ["not_authed", "invalid_auth", "token_revoked"]


async def test_auth_test_and_team_info(client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert auth["team_id"] == "T0001"
    assert auth["user_id"] == "UALLYBOT"
    assert auth["bot_id"] == "BALLYBOT"
    assert auth["url"] == "https://acme.slack.com/"
    team = await client.team_info()
    assert team["team"]["domain"] == "acme"
    assert (await client.api_test())["ok"] is True


# -- required arguments from Slack's spec ---------------------------------------


@needs_spec
async def test_missing_required_argument_answers_invalid_arguments(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    assert "channel" in spec_required_args("chat.postMessage")
    error = await api_error(client.api_call("chat.postMessage", json={"text": "hi"}))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: channel"
    ]
    error = await api_error(client.reactions_add(channel="C1", name="tada", timestamp=""))
    assert (
        "[ERROR] missing required field: timestamp"
        in error.response["response_metadata"]["messages"]
    )
    assert double.calls_to("chat.postMessage")[0].error == "invalid_arguments"


@needs_spec
def test_every_implemented_method_is_in_slacks_spec() -> None:
    implemented = set(SlackDouble().methods())
    assert implemented - NEWER_THAN_SPEC <= spec_methods()
    assert not (NEWER_THAN_SPEC & spec_methods()), "the spec learned these; drop the exemption"
    assert "token" not in spec_required_args("chat.postMessage")


# -- faults -------------------------------------------------------------------


async def test_rate_limit_is_retried_by_slack_sdk(double: SlackDouble) -> None:
    double.fail("chat.postMessage", status=429, retry_after=1)
    client = AsyncWebClient(
        token=TOKEN,
        base_url=double.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    response = await client.chat_postMessage(channel="C1", text="hi")
    assert response["ok"] is True
    first, second = double.calls_to("chat.postMessage")
    assert (first.status, first.error) == (429, "ratelimited")
    assert second.ok
    assert second.at - first.at >= 1.0


async def test_server_errors_are_retried_by_slack_sdk(double: SlackDouble) -> None:
    double.fail("chat.postMessage", status=500, times=3)
    client = AsyncWebClient(
        token=TOKEN,
        base_url=double.url,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=3, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"] is True
    assert [c.status for c in double.calls_to("chat.postMessage")] == [500, 500, 500, 200]


async def test_fault_with_an_api_error(double: SlackDouble, client: AsyncWebClient) -> None:
    double.add_user("U1")
    double.fail("users.info", status=200, error="fatal_error")
    error = await api_error(client.users_info(user="U1"))
    assert error.response["error"] == "fatal_error"
    assert (await client.users_info(user="U1"))["ok"] is True


async def test_random_429_is_reproducible(double: SlackDouble, client: AsyncWebClient) -> None:
    double.random_429(0.5, seed=7)
    outcomes = []
    for n in range(20):
        try:
            await client.chat_postMessage(channel="C1", text=str(n))
            outcomes.append(True)
        except SlackApiError as error:
            assert error.response.status_code == 429
            assert error.response.headers["Retry-After"] == "1"
            outcomes.append(False)
    assert 0 < outcomes.count(False) < 20
    async with SlackDouble() as again:
        again.random_429(0.5, seed=7)
        repeat_client = AsyncWebClient(token="xoxb-test", base_url=again.url)
        repeat = []
        for n in range(20):
            try:
                await repeat_client.chat_postMessage(channel="C1", text=str(n))
                repeat.append(True)
            except SlackApiError:
                repeat.append(False)
    assert repeat == outcomes


async def test_channel_rate_limit(double: SlackDouble, client: AsyncWebClient) -> None:
    double.channel_rate_limit(2.0)
    await client.chat_postMessage(channel="C1", text="one")
    error = await api_error(client.chat_postMessage(channel="C1", text="two"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C2", text="elsewhere is fine")
    await asyncio.sleep(0.6)
    await client.chat_postMessage(channel="C1", text="three")
    assert [c.status for c in double.calls_to("chat.postMessage", channel="C1")] == [200, 429, 200]
    double.channel_rate_limit(None)
    await client.chat_postMessage(channel="C1", text="four")


# -- users, channels, reactions ----------------------------------------------------


async def test_users_info(double: SlackDouble, client: AsyncWebClient) -> None:
    double.add_user("U1", name="ann", real_name="Ann Ally", tz="Europe/Berlin", is_admin=True)
    user = (await client.users_info(user="U1"))["user"]
    assert user["id"] == "U1" and user["team_id"] == "T0001"
    assert user["profile"]["real_name"] == "Ann Ally"
    assert user["is_admin"] is True and user["is_bot"] is False
    offset = datetime.now(ZoneInfo("Europe/Berlin")).utcoffset()
    assert offset is not None
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] == int(offset.total_seconds())
    assert user["tz_label"].startswith("Central European")
    error = await api_error(client.users_info(user="UNOBODY"))
    assert error.response["error"] == "user_not_found"
    slackbot = (await client.users_info(user="USLACKBOT"))["user"]
    assert slackbot["name"] == "slackbot"
    assert slackbot["is_bot"] is False, "Slack really reports Slackbot as not a bot"
    double.add_user("U2", deleted=True)
    gone = (await client.users_info(user="U2"))["user"]
    assert gone["deleted"] is True and "tz" not in gone


async def test_dm_ids_are_stable(double: SlackDouble, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="U1", text="hi")
    opened = await client.conversations_open(users="U1")
    assert posted["channel"] == opened["channel"]["id"] == double.dm_id("U1")
    assert posted["channel"].startswith("D")
    group = await client.conversations_open(users=["U1", "U2"])
    again = await client.conversations_open(users="U2,U1")
    assert group["channel"]["id"] == again["channel"]["id"]
    assert group["channel"]["id"][0] in "GC"
    info = await client.conversations_info(channel=posted["channel"])
    assert info["channel"]["is_im"] is True and info["channel"]["user"] == "U1"


async def test_not_in_channel_and_reactions(double: SlackDouble, client: AsyncWebClient) -> None:
    double.set_not_in_channel("C9")
    error = await api_error(client.chat_postMessage(channel="C9", text="hi"))
    assert error.response["error"] == "not_in_channel"
    error = await api_error(client.reactions_add(channel="C9", name="tada", timestamp="1.000001"))
    assert error.response["error"] == "not_in_channel"
    await client.reactions_add(channel="C1", name="tada", timestamp="1.000001")
    error = await api_error(client.reactions_add(channel="C1", name="tada", timestamp="1.000001"))
    assert error.response["error"] == "already_reacted"
    await client.reactions_remove(channel="C1", name="tada", timestamp="1.000001")
    error = await api_error(
        client.reactions_remove(channel="C1", name="tada", timestamp="1.000001")
    )
    assert error.response["error"] == "no_reaction"
    assert (await client.conversations_info(channel="C9"))["channel"]["is_member"] is False


async def test_conversations_members_paginates(double: SlackDouble, client: AsyncWebClient) -> None:
    double.set_members("C1", ["U1", "U2", "U3", "U4", "U5"])
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await client.conversations_members(channel="C1", limit=2, cursor=cursor or None)
        seen += page["members"]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == ["U1", "U2", "U3", "U4", "U5"]
    assert pages == 3


async def test_message_lifecycle(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="draft")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert updated["ts"] == posted["ts"] and updated["text"] == "final"
    link = await client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    assert link["permalink"].startswith("https://acme.slack.com/archives/C1/p")
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert float(ephemeral["message_ts"]) > float(posted["ts"])
    await client.chat_delete(channel="C1", ts=posted["ts"])
    error = await api_error(client.chat_delete(channel="C1", ts=posted["ts"]))
    assert error.response["error"] == "message_not_found"


# -- message and view validation ------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_message_content_is_validated(client: AsyncWebClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "no_text"),
        ({"blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"blocks": "not json"}, "invalid_blocks"),
        ({"blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"text": "x" * 40_001}, "msg_too_long"),
    ]
    for kwargs, expected in cases:
        error = await api_error(client.chat_postMessage(channel="C1", **kwargs))
        assert error.response["error"] == expected, kwargs
    ok = await client.chat_postMessage(channel="C1", blocks=[{"type": "divider"}] * 50)
    assert ok["message"]["text"] == "This content can't be displayed."


async def test_views(double: SlackDouble, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    first = await client.views_publish(user_id="U1", view=home)
    second = await client.views_publish(user_id="U1", view=home)
    assert first["view"]["id"] == second["view"]["id"]
    error = await api_error(
        client.views_publish(
            user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 101}
        )
    )
    assert error.response["error"] == "invalid_blocks"
    modal = {
        "type": "modal",
        "callback_id": "give",
        "title": {"type": "plain_text", "text": "Give kudos"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id="1.2.abc", view=modal)
    view_id = opened["view"]["id"]
    updated = await client.views_update(view_id=view_id, view=modal, hash=opened["view"]["hash"])
    assert updated["view"]["id"] == view_id
    error = await api_error(client.views_update(view_id=view_id, view=modal, hash="stale"))
    assert error.response["error"] == "hash_conflict"
    pushed = await client.views_push(trigger_id="1.2.abc", view=modal)
    assert pushed["view"]["id"] != view_id
    error = await api_error(client.views_update(view_id="VNOPE", view=modal))
    assert error.response["error"] == "not_found"


# -- response_url, files, OAuth ------------------------------------------------------


async def test_response_url_is_recorded(double: SlackDouble) -> None:
    url = double.response_url("abc")
    async with aiohttp.ClientSession() as http:
        body = {"text": "Thanks!", "response_type": "ephemeral"}
        async with http.post(url, json=body) as resp:
            assert resp.status == 200
            assert await resp.text() == "ok"
    [call] = await double.wait_for("response_url", _key="abc")
    assert call.args == {"text": "Thanks!", "response_type": "ephemeral", "_key": "abc"}
    assert call.token is None


async def test_files_upload_v2_round_trip(double: SlackDouble, client: AsyncWebClient) -> None:
    response = await client.files_upload_v2(
        channel="C1", content="ann,bob\n", filename="allies.csv", title="Allies"
    )
    assert response["file"]["title"] == "Allies"
    assert [c.method for c in double.calls] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    asked, uploaded, completed = double.calls
    assert asked.args["filename"] == "allies.csv" and asked.args["length"] == "8"
    assert uploaded.args == {"_file_id": response["file"]["id"], "content": "ann,bob\n"}
    assert completed.args["channel_id"] == "C1"
    assert json.loads(completed.args["files"])[0]["id"] == response["file"]["id"]


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access(double: SlackDouble) -> None:
    double.set_oauth_install(
        "code-1", "T0002", "Beta", "xoxb-beta", "UBETABOT", authed_user_id="UINSTALL"
    )
    client = AsyncWebClient(base_url=double.url)
    install = await client.oauth_v2_access(client_id="1.2", client_secret="s3cret", code="code-1")
    assert install["access_token"] == "xoxb-beta"
    assert install["token_type"] == "bot"
    assert install["bot_user_id"] == "UBETABOT"
    assert install["team"] == {"id": "T0002", "name": "Beta"}
    assert install["enterprise"] is None and install["is_enterprise_install"] is False
    assert install["authed_user"]["id"] == "UINSTALL"
    [call] = double.calls_to("oauth.v2.access", client_id="1.2", client_secret="s3cret")
    assert call.token is None
    error = await api_error(
        client.oauth_v2_access(client_id="1.2", client_secret="s", code="code-1")
    )
    assert error.response["error"] == "invalid_code"
    auth = await AsyncWebClient(token="xoxb-beta", base_url=double.url).auth_test()
    assert (auth["team_id"], auth["user_id"], auth["team"]) == ("T0002", "UBETABOT", "Beta")


# -- waiting ------------------------------------------------------------------------


async def test_wait_for_and_assert_no_call(double: SlackDouble, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        await client.chat_postMessage(channel="C1", text="late")

    task = asyncio.create_task(later())
    [call] = await double.wait_for("chat.postMessage", channel="C1", timeout=2)
    await task
    assert call.args["text"] == "late"
    with pytest.raises(AssertionError, match=r"chat\.postMessage \[ok\] channel='C1'"):
        await double.wait_for("chat.postMessage", channel="C404", timeout=0.1)
    with pytest.raises(AssertionError, match="expected no call"):
        await double.assert_no_call("chat.postMessage", within=0.1, channel="C1")
    await double.assert_no_call("chat.postMessage", within=0.1, where=lambda c: not c.ok)


# -- signing ------------------------------------------------------------------------


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = payloads.url_verification("challenge-1")
    headers = signed_headers(body, SECRET, content_type="application/json")
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = signed_headers(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


async def test_signed_post_sends_slack_headers() -> None:
    seen: list[tuple[dict[str, str], str]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.text()))
        return web.Response(text="fine")

    app = web.Application()
    app.router.add_post("/slack/events", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        body = payloads.event_callback(payloads.app_uninstalled_event(), team_id="T0001")
        async with aiohttp.ClientSession() as http:
            status, text = await signed_post(
                http, f"http://127.0.0.1:{port}/slack/events", body, SECRET, retry_num=1
            )
    finally:
        await runner.cleanup()
    assert (status, text) == (200, "fine")
    [(headers, received)] = seen
    assert received == body
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Slack-Retry-Num"] == "1"
    assert headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert SignatureVerifier(SECRET).is_valid_request(received, headers)


# -- payloads through Bolt ------------------------------------------------------------


async def test_payloads_reach_bolt_listeners(double: SlackDouble, client: AsyncWebClient) -> None:
    app = AsyncApp(token=TOKEN, signing_secret=SECRET, client=client)
    heard: list[str] = []

    @app.command("/kudos")
    async def kudos(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        heard.append("command:" + command["text"])
        await respond("thanks")

    @app.action("approve")
    async def approve(ack: AsyncAck, body: dict[str, Any], say: AsyncSay) -> None:
        await ack()
        heard.append("action:" + body["actions"][0]["value"])
        await say("approved")

    @app.view("give")
    async def give(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack()
        heard.append("view:" + view["state"]["values"]["b"]["a"]["value"])

    @app.shortcut("kudos_for_message")
    async def shortcut(ack: AsyncAck, shortcut: dict[str, Any]) -> None:
        await ack()
        heard.append("shortcut:" + shortcut["message"]["text"])

    @app.event("reaction_added")
    async def reacted(event: dict[str, Any]) -> None:
        heard.append("reaction:" + event["reaction"])

    @app.event("app_home_opened")
    async def home(event: dict[str, Any]) -> None:
        heard.append("home:" + event["user"])

    bodies = [
        payloads.slash_command(
            command="/kudos",
            text="@bob thanks",
            user_id="U1",
            team_id="T0001",
            channel_id="C1",
            response_url=double.response_url("cmd"),
        ),
        payloads.block_actions(
            user_id="U1",
            team_id="T0001",
            action_id="approve",
            value="k1",
            channel_id="C1",
            response_url=double.response_url("act"),
        ),
        payloads.view_submission(
            user_id="U1",
            team_id="T0001",
            callback_id="give",
            state_values={"b": {"a": {"type": "plain_text_input", "value": "well done"}}},
        ),
        payloads.message_shortcut(
            user_id="U1",
            team_id="T0001",
            callback_id="kudos_for_message",
            channel_id="C1",
            message={"user": "U2", "text": "I shipped it"},
        ),
        payloads.event_callback(
            payloads.reaction_added_event(
                user="U1", reaction="tada", channel="C1", item_ts=payloads.fresh_ts()
            ),
            team_id="T0001",
        ),
        payloads.event_callback(payloads.app_home_opened_event(user="U1"), team_id="T0001"),
    ]
    for body in bodies:
        headers: dict[str, str | Sequence[str]] = {**signed_headers(body, SECRET)}
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, (body, response.body)
    await double.wait_for("response_url", _key="cmd", text="thanks")
    await double.wait_for("chat.postMessage", channel="C1", text="approved")
    for _ in range(100):
        if len(heard) == 6:
            break
        await asyncio.sleep(0.02)
    assert sorted(heard) == sorted(
        [
            "command:@bob thanks",
            "action:k1",
            "view:well done",
            "shortcut:I shipped it",
            "reaction:tada",
            "home:U1",
        ]
    )
    assert double.calls_to("auth.test"), "Bolt authorises through auth.test"


def test_payload_shapes() -> None:
    command = parse_qs(
        payloads.slash_command(
            command="/kudos",
            text="hi",
            user_id="U1",
            team_id="T1",
            channel_id="C1",
            response_url="http://127.0.0.1/response/x",
        )
    )
    slack_fields = {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert slack_fields <= set(command)
    other = parse_qs(
        payloads.slash_command(
            command="/kudos", text="hi", user_id="U1", team_id="T1", channel_id="C1",
            response_url="http://127.0.0.1/response/x",
        )
    )  # fmt: skip
    assert other["trigger_id"] != command["trigger_id"]
    envelope = json.loads(payloads.event_callback({"type": "app_uninstalled"}, team_id="T1"))
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == "UALLYBOT"
    assert payloads.tokens_revoked_event(["UALLYBOT"])["tokens"]["bot"] == ["UALLYBOT"]
    action = json.loads(
        parse_qs(
            payloads.block_actions(
                user_id="U1", team_id="T1", action_id="a", value="v", view={"type": "home"}
            )
        )["payload"][0]
    )
    assert action["container"]["type"] == "view"
    assert action["view"]["app_installed_team_id"] == "T1"
    assert "response_url" not in action


# -- standalone ------------------------------------------------------------------------


async def test_standalone_server_prints_its_url_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.slack_double",
        "--port",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=15)).decode().strip()
        assert line.startswith("SLACK_API_URL=http://127.0.0.1:") and line.endswith("/api/")
        url = line.split("=", 1)[1]
        auth = await AsyncWebClient(token="xoxb-test", base_url=url).auth_test()
        assert auth["ok"] is True
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# -- Sign in with Slack (OpenID Connect) ----------------------------------------------------


async def test_sign_in_with_slack_through_slack_sdks_pieces(double: SlackDouble) -> None:
    """slack_sdk's authorize URL, then openid.connect.token and openid.connect.userInfo, as
    Slack's method reference describes them (the frozen spec predates them)."""
    from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

    double.set_team("TSIGNIN01", name="Sign In Co", domain="signin")
    double.add_user("USIGNIN01", team_id="TSIGNIN01", real_name="Ada Lovelace")
    double.sign_in_as("USIGNIN01")
    redirect = "https://allybot.example.com/dashboard/callback"
    url = OpenIDConnectAuthorizeUrlGenerator(
        client_id="1.2",
        redirect_uri=redirect,
        scopes=["openid", "profile"],
        authorization_url=double.openid_authorize_url,
    ).generate(state="s1", nonce="n1")
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, allow_redirects=False) as resp,
    ):
        assert resp.status == 302
        back = resp.headers["Location"]
    assert back.startswith(redirect + "?")
    query = parse_qs(back.split("?", 1)[1])
    assert query["state"] == ["s1"]
    code = query["code"][0]

    client = AsyncWebClient(base_url=double.url)
    # The wrong redirect URI or client is refused, and a refused code stays unspent.
    with pytest.raises(SlackApiError) as refused:
        await client.openid_connect_token(
            client_id="1.2", client_secret="s", code=code, redirect_uri="https://evil.example/cb"
        )
    assert refused.value.response["error"] == "bad_redirect_uri"
    tokens = await client.openid_connect_token(
        client_id="1.2", client_secret="s", code=code, redirect_uri=redirect
    )
    assert tokens["ok"] and tokens["token_type"] == "Bearer"
    assert str(tokens["access_token"]).startswith("xoxp-")
    _, claims, _ = str(tokens["id_token"]).split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["nonce"] == "n1" and decoded["aud"] == "1.2"
    assert decoded["https://slack.com/team_id"] == "TSIGNIN01"
    with pytest.raises(SlackApiError) as reused:
        await client.openid_connect_token(
            client_id="1.2", client_secret="s", code=code, redirect_uri=redirect
        )
    assert reused.value.response["error"] == "invalid_code"

    info = await client.openid_connect_userInfo(token=str(tokens["access_token"]))
    assert info["sub"] == "USIGNIN01"
    assert info["https://slack.com/user_id"] == "USIGNIN01"
    assert info["https://slack.com/team_id"] == "TSIGNIN01"
    assert info["https://slack.com/team_name"] == "Sign In Co"
    assert info["name"] == "Ada Lovelace" and info["given_name"] == "Ada"
    # A bot token is not a Sign in with Slack token.
    with pytest.raises(SlackApiError) as bot:
        await client.openid_connect_userInfo(token=TOKEN)
    assert bot.value.response["error"] == "invalid_auth"


async def test_the_consent_screen_can_be_cancelled_and_refuses_bad_requests(
    double: SlackDouble,
) -> None:
    double.add_user("USIGNIN02")
    double.sign_in_as("USIGNIN02", deny=True)
    base = f"{double.openid_authorize_url}?response_type=code&client_id=1.2&state=s"
    async with aiohttp.ClientSession() as http:
        good = f"{base}&scope=openid,profile&redirect_uri=https://a.example/cb"
        async with http.get(good, allow_redirects=False) as resp:
            assert resp.status == 302
            assert parse_qs(resp.headers["Location"].split("?", 1)[1]) == {
                "state": ["s"],
                "error": ["access_denied"],
            }
        async with http.get(f"{base}&scope=profile&redirect_uri=x", allow_redirects=False) as r:
            assert r.status == 400
    assert double.calls_to("openid.authorize")[-1].error == "invalid_scope"


async def test_in_ci_a_missing_spec_is_a_failure_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without Slack's spec the double cannot check methods and arguments; CI must say so."""
    from tests import slack_double

    monkeypatch.setattr(slack_double, "SPEC_PATH", tmp_path / "absent.json")
    slack_double._spec_paths.cache_clear()
    try:
        monkeypatch.setenv("CI", "true")
        with pytest.raises(slack_double.SpecMissing, match="CI=true"):
            await SlackDouble(bot_token=TOKEN).start()
        monkeypatch.setenv("CI", "false")
        slack_double._spec_paths.cache_clear()
        assert not slack_double.spec_available(), "outside CI the checks are skipped, quietly"
    finally:
        monkeypatch.undo()
        slack_double._spec_paths.cache_clear()
