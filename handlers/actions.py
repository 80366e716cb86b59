"""Block actions (buttons)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.ids import Action
from handlers.events import acknowledge


def register(app: AsyncApp, inbox: object) -> None:
    # "Say thanks" is a link button: Slack opens the DM itself and still tells us; ack it.
    app.action(Action.SAY_THANKS)(acknowledge)
