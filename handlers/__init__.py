"""Bolt listeners: parse the Slack payload, call a service, render blocks, call Slack."""

from slack_bolt.async_app import AsyncApp

from bot.inbox import Inbox
from handlers import (
    actions,
    admin,
    allies,
    channel_kudos,
    commands,
    commitment_buttons,
    commitment_modal,
    commitments,
    events,
    heads_up,
    home,
    intro_meeting,
    intros,
    lost_work,
    mutes,
    newcomers,
    preferences,
    privacy,
)


def register_all(app: AsyncApp, inbox: Inbox) -> None:
    """Wire every listener into the app in one place."""
    inbox.on_erased = lost_work.tell_erased
    commands.register(app, inbox)
    events.register(app, inbox)
    home.register(app, inbox)
    preferences.register(app, inbox)
    channel_kudos.register(app, inbox)
    actions.register(app, inbox)
    commitments.register(app, inbox)
    commitment_buttons.register(app, inbox)
    commitment_modal.register(app, inbox)
    allies.register(app, inbox)
    privacy.register(app, inbox)
    intros.register(app, inbox)
    intro_meeting.register(app, inbox)
    heads_up.register(app, inbox)
    admin.register(app, inbox)
    mutes.register(app, inbox)
    newcomers.register(app, inbox)
