"""`/ally admin` through `allybot serve` and the Slack double: the workspace settings modal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.models.views import View
from sqlalchemy import select

from bot.blocks.admin import build_admin_modal, change_lines
from bot.db import Database
from bot.models import Person, SettingChange, Workspace
from bot.services import preferences
from bot.services.workspace_settings import WorkspaceSettings
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot, seed_people
from tests.slack_double import Call, SlackDouble

TZ = "Europe/London"
CALLBACK = "admin_settings_modal"


def view_of(call: Call) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def open_admin(server: Server, team: Team, slack: SlackDouble, user: str) -> dict[str, Any]:
    """`/ally admin` as an admin: the modal Slack was asked to open."""
    body, _ = team.command("/ally", "admin", user_id=user)
    assert (await server.post(body))[0] == 200
    (opened,) = await slack.wait_for("views.open", trigger_id=trigger_of(body))
    view = view_of(opened)
    View(**view).validate_json()  # Slack's limits, as slack_sdk checks them
    return view


def state(**fields: Any) -> dict[str, Any]:
    """The modal's state.values as Slack sends them, from the settings file's forms."""
    values = {
        "kudos_channel": None,
        "kudos_emoji": ":raised_hands:",
        "daily_kudos_limit": "5",
        "daily_dm_budget": "5",
        "tags": None,
        "intros_channel": None,
        "intros_cadence": "every 2 weeks",
        "intros_group_size": "2",
        "intros_day": "monday",
        "intros_mode": "opt-in",
        "digest_day": "monday",
        "window_start": "09:00",
        "window_end": "17:00",
    } | fields

    def select(value: Any) -> dict[str, Any]:
        return {"type": "static_select", "selected_option": value and {"value": value}}

    shapes = {
        "kudos_channel": lambda v: {"type": "conversations_select", "selected_conversation": v},
        "intros_channel": lambda v: {"type": "conversations_select", "selected_conversation": v},
        "kudos_emoji": lambda v: {"type": "plain_text_input", "value": v},
        "tags": lambda v: {"type": "plain_text_input", "value": v},
        "daily_kudos_limit": lambda v: {"type": "number_input", "value": v},
        "daily_dm_budget": lambda v: {"type": "number_input", "value": v},
        "window_start": lambda v: {"type": "timepicker", "selected_time": v},
        "window_end": lambda v: {"type": "timepicker", "selected_time": v},
    }
    return {block: {block: shapes.get(block, select)(value)} for block, value in values.items()}


async def submit(server: Server, team: Team, user: str, **fields: Any) -> tuple[int, str]:
    body = payloads.view_submission(
        user_id=user, team_id=team.team_id, callback_id=CALLBACK, state_values=state(**fields)
    )
    return await server.post(body)


async def workspace_of(db: Database, team_id: str) -> Workspace | None:
    async with db.session() as session:
        return await session.get(Workspace, team_id)


async def changes_of(db: Database, team_id: str) -> list[SettingChange]:
    async with db.session() as session:
        stmt = select(SettingChange).where(SettingChange.team_id == team_id)
        return list((await session.execute(stmt.order_by(SettingChange.id))).scalars())


async def kudos_posted(
    server: Server, team: Team, slack: SlackDouble, giver: str, text: str, *, from_dm: bool = False
) -> None:
    """`/kudos` that is posted in the team's channel (from a DM: as the kudos channel)."""
    reason = text.split(" #")[0][-12:]
    where = "D" + giver[1:] if from_dm else team.channel_id
    body, _ = team.command("/kudos", text, user_id=giver, channel_id=where)
    assert (await server.post(body))[0] == 200
    await slack.wait_for(
        "chat.postMessage", channel=team.channel_id, where=lambda c: reason in str(c.args)
    )


async def kudos_refused(
    server: Server, team: Team, slack: SlackDouble, giver: str, text: str
) -> str:
    """`/kudos` that is refused: the private answer."""
    body, key = team.command("/kudos", text, user_id=giver)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


def trigger_of(body: str) -> str:
    return parse_qs(body)["trigger_id"][0]


async def test_an_admin_saves_settings_they_take_effect_and_the_audit_shows(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", is_admin=True)
    olu = team.user("olu", is_owner=True)
    bob, cy, dee = team.user("bob"), team.user("cy"), team.user("dee")
    view = await open_admin(server, team, slack, ann)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["daily_kudos_limit"]["element"]["initial_value"] == "5"
    assert blocks["daily_dm_budget"]["element"]["initial_value"] == "5"
    assert blocks["kudos_emoji"]["element"]["initial_value"] == ":raised_hands:"
    assert "Last changed by" not in json.dumps(view)

    status, text = await submit(
        server,
        team,
        ann,
        kudos_channel=team.channel_id,
        kudos_emoji=":tada:",
        daily_kudos_limit="2",
        daily_dm_budget="8",
        tags="craft, #customer-first",
        intros_cadence="every 4 weeks",
        digest_day="friday",
        window_start="08:00",
        window_end="16:00",
    )
    assert (status, text) == (200, "")
    (saved,) = await slack.wait_for("chat.postMessage", channel=ann)
    assert "daily kudos limit: 5 → 2" in str(saved.args["text"])
    workspace = await workspace_of(db, team.team_id)
    assert workspace is not None
    assert (
        workspace.kudos_channel_id,
        workspace.kudos_emoji,
        workspace.daily_kudos_limit,
        workspace.daily_dm_budget,
        workspace.custom_tags,
        workspace.intros_cadence_weeks,
        workspace.digest_day,
        workspace.window_start,
        workspace.window_end,
    ) == (team.channel_id, "tada", 2, 8, ["craft", "customer-first"], 4, 4, 480, 960)
    changes = await changes_of(db, team.team_id)
    assert {c.field for c in changes} == {
        "kudos_channel",
        "kudos_emoji",
        "daily_kudos_limit",
        "daily_dm_budget",
        "tags",
        "intros_cadence",
        "digest_day",
        "window_start",
        "window_end",
    }
    assert {c.changed_by for c in changes} == {ann}

    # Another admin (an owner) sees who changed what, at the bottom of the modal.
    view = await open_admin(server, team, slack, olu)
    bottom = json.dumps(view["blocks"][-1], ensure_ascii=False)
    assert f"Last changed by <@{ann}>" in bottom and "daily kudos limit (5 → 2)" in bottom
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["daily_kudos_limit"]["element"]["initial_value"] == "2"
    assert blocks["tags"]["element"]["initial_value"] == "craft, customer-first"

    # The settings take effect: the new daily limit (2) and the workspace's own tag.
    await kudos_posted(server, team, slack, bob, f"<@{cy}> sharp code review #craft")
    await kudos_posted(server, team, slack, bob, f"<@{dee}> calm incident lead")
    refused = await kudos_refused(server, team, slack, bob, f"<@{ann}> clear roadmap notes")
    assert "You can give 2 kudos a day and have 0 left today" in refused
    # Given in a DM, the kudos is posted in the workspace's kudos channel, with its emoji.
    await kudos_posted(server, team, slack, cy, f"<@{dee}> patient onboarding", from_dm=True)
    posts = slack.calls_to("chat.postMessage", channel=team.channel_id)
    assert any(":tada:" in json.dumps(p.args.get("blocks")) for p in posts)


async def test_a_non_admin_is_refused_privately_and_nothing_changes(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    bob = team.user("bob")
    body, key = team.command("/ally", "admin", user_id=bob)
    assert (await server.post(body))[0] == 200
    (reply,) = await slack.wait_for("response_url", _key=key)
    assert "admins and owners" in str(reply.args["text"])
    assert reply.args.get("response_type", "ephemeral") == "ephemeral"
    assert slack.calls_to("views.open", trigger_id=trigger_of(body)) == []
    # A submission forged without the modal is checked again and refused.
    assert await submit(server, team, bob, daily_kudos_limit="50") == (200, "")
    (dm,) = await slack.wait_for("chat.postMessage", channel=bob)
    assert "nothing changed" in str(dm.args["text"])
    workspace = await workspace_of(db, team.team_id)
    assert workspace is None or workspace.daily_kudos_limit == 5
    assert await changes_of(db, team.team_id) == []


async def test_each_invalid_field_gets_its_error_in_the_modal(
    server: Server, team: Team, db: Database
) -> None:
    ann = team.user("ann", is_admin=True)
    status, text = await submit(
        server,
        team,
        ann,
        kudos_channel="general",
        kudos_emoji="party time!",
        daily_kudos_limit="0",
        daily_dm_budget="51",
        tags="craft, 9lives",
        intros_channel="#random",
        intros_cadence="monthly",
        intros_group_size="5",
        intros_day="sunday",
        intros_mode="sometimes",
        digest_day="someday",
        window_start=None,
    )
    assert status == 200
    answer = json.loads(text)
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert set(errors) == {
        "kudos_channel",
        "kudos_emoji",
        "daily_kudos_limit",
        "daily_dm_budget",
        "tags",
        "intros_channel",
        "intros_cadence",
        "intros_group_size",
        "intros_day",
        "intros_mode",
        "digest_day",
        "window_start",
    }
    assert "from 1 to 50" in errors["daily_kudos_limit"] and "#9lives" in errors["tags"]
    assert "from 1 to 50" in errors["daily_dm_budget"]
    assert "working day" in errors["intros_day"] and "emoji name" in errors["kudos_emoji"]
    status, text = await submit(server, team, ann, window_start="16:00", window_end="09:00")
    assert json.loads(text)["errors"] == {
        "window_end": "End the delivery window at least an hour after it starts."
    }
    assert await changes_of(db, team.team_id) == []


async def test_the_default_window_applies_to_people_without_their_own(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann = team.user("ann", is_admin=True)
    follows, own = await seed_people(
        db,
        slack,
        team_id=team.team_id,
        people=[
            {"tz": TZ, "tips_cadence": "daily"},
            {"tz": TZ, "tips_cadence": "daily", "window_start": 10 * 60, "window_end": 17 * 60},
        ],
    )
    await open_admin(server, team, slack, ann)
    assert await submit(server, team, ann, window_start="07:00", window_end="12:00") == (200, "")
    await slack.wait_for("chat.postMessage", channel=ann)

    def dms(user: str) -> int:
        return len([c for c in slack.calls_to("chat.postMessage", channel=user) if c.ok])

    async with running_bot(database_url, slack) as bot:
        # Thursday 07:30: inside the workspace's new default, before the person's own window.
        await run_pass(bot, now=at("2026-12-03 07:30", TZ), team_id=team.team_id)
        assert (dms(follows), dms(own)) == (1, 0)
        await run_pass(bot, now=at("2026-12-03 10:05", TZ), team_id=team.team_id)
        assert (dms(follows), dms(own)) == (1, 1)
    # Saving /ally settings with the workspace's default window keeps following the default.
    for user, window in ((follows, ("07:00", "12:00")), (own, ("10:00", "17:00"))):
        async with db.session() as session:
            await preferences.apply_settings(
                session,
                team_id=team.team_id,
                user_id=user,
                values=preferences.SettingsInput(
                    tips="daily",
                    window_start=window[0],
                    window_end=window[1],
                    quiet_start=None,
                    quiet_end=None,
                    pause_days=None,
                    opt_out=False,
                ),
                now=at("2026-12-03 10:10", TZ),
            )
    async with db.session() as session:
        kept = [await session.get(Person, (team.team_id, u)) for u in (follows, own)]
    assert [(p.window_start, p.window_end) for p in kept if p] == [(None, None), (600, 1020)]


def test_the_modal_groups_the_latest_saves_at_the_bottom() -> None:
    def change(by: str, field: str, old: str, new: str, day: int) -> SettingChange:
        return SettingChange(
            changed_by=by,
            field=field,
            old_value=old,
            new_value=new,
            changed_at=datetime(2026, 11, day, 9, 0, tzinfo=UTC),
        )

    newest_first = [
        change("U0ANN", "window_end", "17:00", "16:00", 26),
        change("U0ANN", "daily_kudos_limit", "5", "8", 26),
        change("deploy-bot", "tags", "none", "#craft", 20),
        change("cli", "digest_day", "Monday", "Friday", 19),
        change("cli", "kudos_emoji", ":clap:", ":tada:", 18),
    ]
    lines = change_lines(newest_first)
    assert len(lines) == 3  # the three latest saves
    assert lines[0].startswith("Last changed by <@U0ANN> on <!date^")
    assert lines[0].endswith(": daily kudos limit (5 → 8), delivery window end (17:00 → 16:00)")
    assert lines[1].startswith("Before that by `deploy-bot` (settings file)")
    settings = WorkspaceSettings(daily_kudos_limit=8, tags=["craft"], digest_day="friday")
    view = build_admin_modal(settings, newest_first).to_dict()
    View(**view).validate_json()
    assert view["blocks"][-1]["elements"][0]["text"] == lines[0]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["digest_day"]["element"]["initial_option"]["value"] == "friday"
    assert blocks["tags"]["element"]["initial_value"] == "craft"


async def test_an_admin_demoted_after_opening_the_modal_cannot_save(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The profile cached when the modal opened says admin; Slack says otherwise at Save."""
    ann = team.user("ann", is_admin=True)
    await open_admin(server, team, slack, ann)
    slack.add_user(ann, team_id=team.team_id, name="ann")  # demoted in Slack meanwhile
    before = len(slack.calls_to("users.info", user=ann))
    assert await submit(server, team, ann, daily_kudos_limit="9") == (200, "")
    (dm,) = await slack.wait_for("chat.postMessage", channel=ann)
    assert "no longer lists you as an admin" in str(dm.args["text"])
    assert len(slack.calls_to("users.info", user=ann)) == before + 1  # asked once, at Save
    workspace = await workspace_of(db, team.team_id)
    assert workspace is None or workspace.daily_kudos_limit == 5
    assert await changes_of(db, team.team_id) == []
