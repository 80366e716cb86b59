"""`/ally admin`: the workspace settings modal, for the workspace's Slack admins and owners."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp

from bot.admins import is_workspace_admin
from bot.blocks.admin import build_admin_modal
from bot.blocks.kudos import build_notice_blocks
from bot.i18n import N_, _
from bot.ids import Callback
from bot.inbox import Inbox, Work
from bot.services import people, workspace_settings
from bot.services.workspace_settings import WorkspaceSettings
from handlers.dm import send_dm
from handlers.keys import view_key
from handlers.kudos import tell_privately
from handlers.language import in_their_language

REFUSAL = N_(
    "Workspace settings are for this workspace's Slack admins and owners, so I can't open "
    "them for you. If something should change, one of them can do it with `/ally admin`. "
    "Your own preferences are in `/ally settings`."
)
REFUSAL_ON_SAVE = N_(
    "I didn't save those workspace settings: Slack no longer lists you as an admin or owner "
    "of this workspace, so nothing changed."
)


async def _is_admin(work: Work, *, now: bool = False) -> bool:
    """Asked of Slack's users.info each time: a profile at most a day old to open the modal,
    Slack's answer at that moment to save it."""
    return await is_workspace_admin(
        work.db, work.client, team_id=work.team_id, user_id=work.user_id, now=now
    )


async def open_admin(work: Work) -> None:
    """`/ally admin`: the modal for admins and owners; a private, polite no for others."""
    if not await _is_admin(work):
        await tell_privately(work, _(REFUSAL))
        return
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
        current = WorkspaceSettings.of(workspace)
        changes = await workspace_settings.recent_changes(session, team_id=work.team_id)
    await work.client.views_open(
        trigger_id=work.body["trigger_id"],
        view=build_admin_modal(current, changes),
    )


def admin_values(body: dict[str, Any]) -> dict[str, Any]:
    """The modal's fields as the admin left them, keyed like the settings file."""
    values = body["view"]["state"]["values"]

    def field(block: str, key: str) -> Any:
        return (values.get(block) or {}).get(block, {}).get(key)

    def option(block: str) -> Any:
        return (field(block, "selected_option") or {}).get("value")

    given = {
        "kudos_channel": field("kudos_channel", "selected_conversation"),
        "kudos_emoji": field("kudos_emoji", "value"),
        "daily_kudos_limit": field("daily_kudos_limit", "value"),
        "daily_dm_budget": field("daily_dm_budget", "value"),
        "tags": field("tags", "value"),
        "intros_channel": field("intros_channel", "selected_conversation"),
        "intros_cadence": option("intros_cadence"),
        "intros_group_size": option("intros_group_size"),
        "intros_day": option("intros_day"),
        "intros_mode": option("intros_mode"),
        "welcome_newcomers": option("welcome_newcomers"),
        "intros_without_overlap": option("intros_without_overlap"),
        "intros_team_field": field("intros_team_field", "value"),
        "intros_location_field": field("intros_location_field", "value"),
        "intros_shared_channels": field("intros_shared_channels", "value"),
        "digest_day": option("digest_day"),
        "window_start": field("window_start", "selected_time"),
        "window_end": field("window_end", "selected_time"),
        "language": option("language"),
    }
    for later in (
        "daily_dm_budget",
        "intros_without_overlap",
        "intros_team_field",
        "intros_location_field",
        "intros_shared_channels",
        "language",
    ):
        if later not in values:  # a modal opened before the field existed
            given.pop(later)
    return given


def check_admin_settings(body: dict[str, Any]) -> dict[str, Any] | None:
    """Answered in the ack: each invalid field gets its message in the modal."""
    try:
        workspace_settings.validate(admin_values(body))
    except ValidationError as exc:
        return {"response_action": "errors", "errors": workspace_settings.field_errors(exc)}
    return None


async def handle_admin_saved(work: Work) -> None:
    """Save what changed, as the admin who submitted it (checked again with Slack, now)."""
    if not await _is_admin(work, now=True):
        refusal = _(REFUSAL_ON_SAVE)
        await send_dm(
            work.client, user_id=work.user_id, text=refusal, blocks=build_notice_blocks(refusal)
        )
        return
    settings = workspace_settings.validate(admin_values(work.body))
    async with work.db.session() as session:
        changes = await workspace_settings.apply(
            session,
            team_id=work.team_id,
            settings=settings,
            changed_by=work.user_id,
            now=work.now(),
        )
    text = (
        _(
            "Workspace settings saved: {changes}.",
            changes="; ".join(c.summary() for c in changes),
        )
        if changes
        else _("Workspace settings saved; nothing had changed.")
    )
    await send_dm(work.client, user_id=work.user_id, text=text, blocks=build_notice_blocks(text))


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.view(Callback.ADMIN_MODAL)(
        inbox.listener(
            "admin_saved",
            view_key,
            in_their_language(handle_admin_saved),
            check=check_admin_settings,
        )
    )
