"""Preferences from Home and `/ally settings`: the tips, pause and resume controls on Home
and the settings modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import directory
from bot.blocks.home import build_settings_modal
from bot.ids import Action, Callback
from bot.inbox import Inbox, Work
from bot.services import people, preferences
from bot.services.preferences import SettingsInput
from handlers.common import engaging
from handlers.keys import action_key, view_key


async def handle_home_button(work: Work) -> None:
    """Preference controls on Home; the Home is republished after (see `engaging`)."""
    action = work.body["actions"][0]
    async with work.db.session() as session:
        match action["action_id"]:
            case Action.HOME_TIPS:
                await preferences.set_tip_cadence(
                    session,
                    team_id=work.team_id,
                    user_id=work.user_id,
                    cadence=action["selected_option"]["value"],
                    now=work.now(),
                )
            case Action.HOME_PAUSE:
                await preferences.pause(
                    session,
                    team_id=work.team_id,
                    user_id=work.user_id,
                    length=preferences.parse_duration(f"{action.get('value', '7')}d"),
                    now=work.now(),
                )
            case Action.HOME_RESUME:
                await preferences.resume(
                    session, team_id=work.team_id, user_id=work.user_id, now=work.now()
                )
            case Action.HOME_LANGUAGE:
                await preferences.set_language(
                    session,
                    team_id=work.team_id,
                    user_id=work.user_id,
                    choice=str((action.get("selected_option") or {}).get("value", "")),
                    now=work.now(),
                )
            case Action.HOME_KUDOS_PRIVACY:
                await preferences.set_kudos_privacy(
                    session,
                    team_id=work.team_id,
                    user_id=work.user_id,
                    choice=str(action.get("value", "")),
                    now=work.now(),
                )


async def open_settings(work: Work) -> None:
    """The settings modal, from Home or `/ally settings`."""
    found = await directory.lookup(
        work.db, work.client, team_id=work.team_id, user_ids=[work.user_id]
    )
    person = found[work.user_id]
    async with work.db.session() as session:
        window = await preferences.window_of(session, person)
        workspace = await work.workspace_in(session)
        welcomer = await preferences.welcomer_of(session, workspace, work.user_id)
    view = build_settings_modal(
        person, window, people.slack_language(person, workspace), welcomer=welcomer
    )
    await work.client.views_open(trigger_id=work.body["trigger_id"], view=view)


def settings_input(body: dict[str, Any]) -> SettingsInput:
    values = body["view"]["state"]["values"]

    def field(block: str, key: str) -> Any:
        return (values.get(block) or {}).get(block, {}).get(key)

    tips = field("tips", "selected_option") or {}
    language = field("language", "selected_option")
    return SettingsInput(
        tips=str(tips.get("value", "")),
        window_start=field("window_start", "selected_time"),
        window_end=field("window_end", "selected_time"),
        quiet_start=field("quiet_start", "selected_time"),
        quiet_end=field("quiet_end", "selected_time"),
        pause_days=field("pause_days", "value"),
        opt_out=bool(field("opt_out", "selected_options")),
        kudos_private=bool(field("kudos_private", "selected_options")),
        language=str(language.get("value", "")) if isinstance(language, dict) else None,
        # Absent from a modal opened where intros are not set up: left as it is.
        welcomer=bool(field("welcomer", "selected_options")) if "welcomer" in values else None,
    )


def check_settings(body: dict[str, Any]) -> dict[str, Any] | None:

    errors = preferences.settings_errors(settings_input(body))
    return {"response_action": "errors", "errors": errors} if errors else None


async def handle_settings_saved(work: Work) -> None:
    async with work.db.session() as session:
        await preferences.apply_settings(
            session,
            team_id=work.team_id,
            user_id=work.user_id,
            values=settings_input(work.body),
            now=work.now(),
        )


def register(app: AsyncApp, inbox: Inbox) -> None:
    buttons = inbox.listener("home_button", action_key, engaging(handle_home_button))
    for action in (
        Action.HOME_TIPS,
        Action.HOME_PAUSE,
        Action.HOME_RESUME,
        Action.HOME_KUDOS_PRIVACY,
        Action.HOME_LANGUAGE,
    ):
        app.action(action)(buttons)
    app.action(Action.HOME_SETTINGS)(
        inbox.listener("home_settings", action_key, engaging(open_settings))
    )
    app.view(Callback.SETTINGS_MODAL)(
        inbox.listener(
            "settings_saved", view_key, engaging(handle_settings_saved), check=check_settings
        )
    )
