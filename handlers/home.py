"""The Home tab, kept current, and the personal settings (Home buttons, `/ally settings`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import directory
from bot.blocks.allies import DueAlly
from bot.blocks.home import build_home_view, build_settings_modal
from bot.blocks.intros import build_home_intros_blocks
from bot.db import Database
from bot.ids import Action, Callback
from bot.inbox import Inbox, Work
from bot.services import allies, commitments, insights, intros, people, preferences
from bot.services.preferences import SettingsInput
from handlers.keys import action_key, event_key, view_key


async def publish_home(
    db: Database,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    now: datetime,
    only_if_seen: bool = False,
) -> None:
    """Build and publish one person's Home from current state; with `only_if_seen`, only
    for someone who has opened it (nobody else would see the work)."""
    found = await directory.lookup(db, client, team_id=team_id, user_ids=[user_id])
    person = found.get(user_id)
    if person is None or (only_if_seen and person.home_seen_at is None):
        return
    today = now.astimezone(ZoneInfo(person.tz)).date()
    async with db.session() as session:
        views = await allies.list_allies(session, team_id=team_id, user_id=user_id)
        due = sorted(
            (
                DueAlly(
                    row_id=v.ally.id,
                    ally_id=v.ally.ally_id,
                    days=(today - v.ally.last_contact_day).days,
                    cadence_days=v.ally.cadence_days,
                )
                for v in views
                if v.ally.due_day <= today and not v.gone
            ),
            key=lambda d: -d.days,
        )
        open_items = await commitments.open_list(session, team_id=team_id, owner_id=user_id)
        with_parties = [
            (c, [p.user_id for p in await commitments.parties_of(session, commitment_id=c.id)])
            for c in open_items[:5]
        ]
        figures = await insights.figures(session, team_id=team_id, user_id=user_id, now=now)
        window = await preferences.window_of(session, person)
        intro_status = await intros.status(session, team_id=team_id, user_id=user_id, now=now)
        received = await insights.recent_kudos_received(
            session, team_id=team_id, user_id=user_id, now=now
        )
    view = build_home_view(
        person=person,
        due_allies=due,
        commitments=with_parties,
        figures=figures,
        received=received,
        now=now,
        window=window,
        intros=build_home_intros_blocks(intro_status, person.tz) if intro_status.channel_id else (),
    )
    await client.views_publish(user_id=user_id, view=view)


async def republish_home(work: Work) -> None:
    await publish_home(
        work.db,
        work.client,
        team_id=work.team_id,
        user_id=work.user_id,
        now=work.now(),
        only_if_seen=True,
    )


async def handle_home_opened(work: Work) -> None:
    event = work.body["event"]
    if event.get("tab", "home") != "home":
        return
    await publish_home(
        work.db, work.client, team_id=work.team_id, user_id=event["user"], now=work.now()
    )
    async with work.db.session() as session:
        await people.mark_home_seen(
            session, team_id=work.team_id, user_id=event["user"], now=work.now()
        )


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
    await work.client.views_open(
        trigger_id=work.body["trigger_id"], view=build_settings_modal(person, window)
    )


def settings_input(body: dict[str, Any]) -> SettingsInput:
    values = body["view"]["state"]["values"]

    def field(block: str, key: str) -> Any:
        return (values.get(block) or {}).get(block, {}).get(key)

    tips = field("tips", "selected_option") or {}
    return SettingsInput(
        tips=str(tips.get("value", "")),
        window_start=field("window_start", "selected_time"),
        window_end=field("window_end", "selected_time"),
        quiet_start=field("quiet_start", "selected_time"),
        quiet_end=field("quiet_end", "selected_time"),
        pause_days=field("pause_days", "value"),
        opt_out=bool(field("opt_out", "selected_options")),
        kudos_private=bool(field("kudos_private", "selected_options")),
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
    from handlers.common import engaging

    app.event("app_home_opened")(inbox.listener("home_opened", event_key, handle_home_opened))
    buttons = inbox.listener("home_button", action_key, engaging(handle_home_button))
    for action in (
        Action.HOME_TIPS,
        Action.HOME_PAUSE,
        Action.HOME_RESUME,
        Action.HOME_KUDOS_PRIVACY,
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
