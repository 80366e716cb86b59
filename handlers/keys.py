"""The unique key each kind of Slack delivery is recorded under: the same delivery (a retry,
a double click) always gets the same key, so it is handled once."""

from __future__ import annotations

import hashlib
from typing import Any


def command_key(body: dict[str, Any]) -> str:
    """Slack gives every invocation its own trigger_id; a retry carries the same one."""
    return f"command:{body['command']}:{body['trigger_id']}"


def event_key(body: dict[str, Any]) -> str:
    """Slack's event_id is the same on every retry of one event."""
    return f"event:{body['event_id']}"


def action_key(body: dict[str, Any]) -> str:
    """One press per (person, button, value, message); on Home, each press is its own.
    Hashed: the delivery log keeps no one's id in a key (a value can carry one too)."""
    action = body["actions"][0]
    where = (body.get("container") or {}).get("message_ts") or body.get("trigger_id", "")
    press = f"{body['user']['id']}:{action['action_id']}:{action.get('value')}:{where}"
    return "action:" + hashlib.sha256(press.encode()).hexdigest()


def view_key(body: dict[str, Any]) -> str:
    """A modal submission: the view and its state hash."""
    return f"view:{body['view']['id']}:{body['view'].get('hash', '')}"


def shortcut_key(body: dict[str, Any]) -> str:
    return f"shortcut:{body['trigger_id']}"
