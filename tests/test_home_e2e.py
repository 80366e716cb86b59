"""The Home tab and personal settings through `allybot serve` and the Slack double."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from bot.db import Database
from bot.models import Person
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import commit


def view_of(call: Call) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def open_home(server: Server, team: Team, slack: SlackDouble, user: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.publish", user_id=user))
    event = payloads.app_home_opened_event(user=user, team_id=team.team_id)
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200
    calls = await slack.wait_for("views.publish", user_id=user, count=before + 1)
    return view_of(calls[-1])


def pause_pressed(home: dict[str, Any], team: Team, user_id: str) -> str:
    """The payload of **Pause 1 week** pressed on this published Home."""
    prefs = next(b for b in home["blocks"] if b.get("block_id") == "home_preferences")
    pause = next(e for e in prefs["elements"] if e.get("action_id") == "home_pause")
    return payloads.block_actions(
        user_id=user_id,
        team_id=team.team_id,
        action_id="home_pause",
        value=pause["value"],
        block_id="home_preferences",
        view={"id": "V1", "type": "home"},
    )


def valid(view: dict[str, Any]) -> None:
    """Slack's limits, as slack_sdk's models check them: ≤ 100 blocks, text lengths."""
    assert len(view["blocks"]) <= 100
    View(**view).validate_json()


async def ally(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> None:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)


async def test_home_shows_commitments_kudos_and_figures(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob, cy = team.user("ann"), team.user("bob"), team.user("cy")
    empty = await open_home(server, team, slack, ann)
    valid(empty)
    text = json.dumps(empty)
    assert "not enough yet" in text and "None open" in text
    await commit(server, team, slack, ann, f"send the deck to <@{bob}> by 2030-01-01")
    for giver in (bob, cy):
        body, _ = team.command("/kudos", f"<@{ann}> great onboarding guide", user_id=giver)
        assert (await server.post(body))[0] == 200
        await slack.wait_for(
            "chat.postMessage", channel=ann, where=lambda c, g=giver: g in str(c.args.get("text"))
        )
    body, _ = team.command("/kudos", f"<@{bob}> thanks for reviewing it", user_id=ann)
    assert (await server.post(body))[0] == 200
    await slack.wait_for(
        "chat.postMessage", channel=bob, where=lambda c: "reviewing" in str(c.args.get("text"))
    )
    home = await open_home(server, team, slack, ann)
    valid(home)
    text = json.dumps(home)
    assert "send the deck" in text and "commit_done" in text
    assert "you gave 1, you received 2" in text
    assert "of the 2 people who recognised you, you recognised 1 back" in text
    assert "you recognised 1 person in 90 days" in text


async def test_home_is_republished_after_a_change_and_its_buttons_work(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    await ally(server, team, slack, bob, "tips daily")  # bob never opened Home: no publish
    await open_home(server, team, slack, ann)
    await ally(server, team, slack, ann, "tips daily")
    published = await slack.wait_for("views.publish", user_id=ann, count=2)
    assert "tips daily" in json.dumps(view_of(published[-1]))
    assert (await server.post(pause_pressed(view_of(published[-1]), team, ann)))[0] == 200
    after = await slack.wait_for("views.publish", user_id=ann, count=len(published) + 1)
    assert "paused until" in json.dumps(view_of(after[-1]))
    async with db.session() as session:
        person = await session.get(Person, (team.team_id, ann))
        assert person is not None and person.paused_until is not None
    assert slack.calls_to("views.publish", user_id=bob) == []


async def test_settings_modal_validates_and_saves(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", tz="Asia/Tokyo")
    await open_home(server, team, slack, ann)
    body, _ = team.command("/ally", "settings", user_id=ann)
    assert (await server.post(body))[0] == 200
    opened = (
        await slack.wait_for(
            "views.open",
            where=lambda c: (
                "settings_modal" in json.dumps(c.args.get("view"))
                and "Asia/Tokyo" in json.dumps(c.args.get("view"))
            ),
        )
    )[0]
    valid(view_of(opened))

    def submit(**fields: Any) -> str:
        state = {
            "tips": {
                "tips": {
                    "type": "static_select",
                    "selected_option": {"value": fields.get("tips", "daily")},
                }
            },
            "window_start": {
                "window_start": {
                    "type": "timepicker",
                    "selected_time": fields.get("start", "08:00"),
                }
            },
            "window_end": {
                "window_end": {"type": "timepicker", "selected_time": fields.get("end", "16:00")}
            },
            "quiet_start": {
                "quiet_start": {"type": "timepicker", "selected_time": fields.get("quiet_start")}
            },
            "quiet_end": {
                "quiet_end": {"type": "timepicker", "selected_time": fields.get("quiet_end")}
            },
            "pause_days": {"pause_days": {"type": "number_input", "value": fields.get("pause")}},
            "opt_out": {"opt_out": {"type": "checkboxes", "selected_options": []}},
        }
        return payloads.view_submission(
            user_id=ann, team_id=team.team_id, callback_id="settings_modal", state_values=state
        )

    for bad, field in [
        ({"start": "16:00", "end": "09:00"}, "window_end"),
        ({"quiet_start": "18:00"}, "quiet_end"),
        ({"pause": "500"}, "pause_days"),
        ({"pause": "²"}, "pause_days"),  # a digit int() cannot read
    ]:
        status, text = await server.post(submit(**bad))
        assert status == 200 and field in json.loads(text)["errors"], bad
    status, text = await server.post(submit(quiet_start="12:00", quiet_end="13:00"))
    assert status == 200 and text == ""
    await slack.wait_for(
        "views.publish",
        user_id=ann,
        where=lambda c: "quiet 12:00–13:00" in json.dumps(view_of(c), ensure_ascii=False),
    )
    async with db.session() as session:
        person = await session.get(Person, (team.team_id, ann))
    assert person is not None
    assert (person.tips_cadence, person.window_start, person.window_end) == ("daily", 480, 960)
    assert (person.quiet_start, person.quiet_end) == (720, 780)


async def test_a_button_pressed_as_home_first_opens_gets_its_change_shown(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A button on a Home published for the first time, pressed before Slack answered that
    publish: the press's delivery republishes Home too, with the change (Home counts as
    seen from before its first publish, not from after it)."""
    ann = team.user("ann")
    slack.delay("views.publish", 0.5)  # recorded at once, answered half a second later
    try:
        home = await open_home(server, team, slack, ann)
        assert (await server.post(pause_pressed(home, team, ann)))[0] == 200
        after = await slack.wait_for("views.publish", user_id=ann, count=2)
    finally:
        slack.delay("views.publish", 0)
    assert "paused until" in json.dumps(view_of(after[-1]))
