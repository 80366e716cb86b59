"""Request bodies shaped like the ones Slack sends allybot, so handlers meet real payloads.

Slash commands and interactions arrive form-encoded (interactions as ``payload=<json>``);
Events API deliveries arrive as JSON. Pair these with ``tests.signing.signed_post``.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from tests.slack_double import APP_ID, dm_channel_id

JsonDict = dict[str, Any]

VERIFICATION_TOKEN = "allybot-verification-token"
DEFAULT_TEAM_ID = "T0001"
BOT_USER_ID = "UALLYBOT"
BOT_ID = "BALLYBOT"

_counter = itertools.count(1)
_last_ts_us = 0


def fresh_ts() -> str:
    """A message ts like Slack's, strictly increasing within the test run."""
    global _last_ts_us
    _last_ts_us = max(time.time_ns() // 1000, _last_ts_us + 1)
    return f"{_last_ts_us // 1_000_000}.{_last_ts_us % 1_000_000:06d}"


def fresh_trigger_id() -> str:
    """A unique trigger_id, shaped like Slack's `<digits>.<digits>.<hex>`."""
    return f"{int(time.time() * 1000)}.{next(_counter)}.{uuid.uuid4().hex}"


def fresh_event_id() -> str:
    """A unique Events API event_id, so deduplication sees distinct deliveries."""
    return f"Ev{next(_counter):04d}{uuid.uuid4().hex[:6].upper()}"


def form_payload(payload: JsonDict) -> str:
    """The `payload=<json>` form body Slack posts for interactivity."""
    return urlencode({"payload": json.dumps(payload)})


def _user(user_id: str, team_id: str, user_name: str) -> JsonDict:
    """The `user` object of interaction payloads."""
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _enterprise(enterprise_id: str | None) -> JsonDict | None:
    """The `enterprise` object, null outside Enterprise Grid."""
    return None if enterprise_id is None else {"id": enterprise_id, "name": "Acme Grid"}


def _complete_view(
    view: JsonDict, *, team_id: str, api_app_id: str, view_id: str | None = None
) -> JsonDict:
    """Fill the fields Slack adds to every view it sends back, keeping what was given."""
    complete = dict(view)
    vid = view_id or complete.get("id") or f"V{next(_counter):010d}"
    complete["id"] = vid
    defaults: JsonDict = {
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": "allybot", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": vid,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    for key, value in defaults.items():
        complete.setdefault(key, value)
    return complete


# ---------------------------------------------------------------------------
# Slash commands


def slash_command(
    *,
    command: str,
    text: str,
    user_id: str,
    team_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str | None = None,
    user_name: str = "ann",
    channel_name: str = "general",
    team_domain: str = "acme",
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    org_wide: bool = False,
) -> str:
    """The form body Slack posts when someone runs a slash command (`org_wide`: allybot is
    installed org-wide in Enterprise Grid org `enterprise_id`)."""
    fields: dict[str, str] = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
    }
    if enterprise_id is not None:
        fields["enterprise_id"] = enterprise_id
        fields["enterprise_name"] = "Acme Grid"
    fields.update(
        {
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "true" if org_wide else "false",
            "response_url": response_url,
            "trigger_id": trigger_id or fresh_trigger_id(),
        }
    )
    return urlencode(fields)


# ---------------------------------------------------------------------------
# Events API


def event_callback(
    event: JsonDict,
    *,
    team_id: str,
    event_id: str | None = None,
    event_time: int | None = None,
    api_app_id: str = APP_ID,
    authorizations_user_id: str = BOT_USER_ID,
    enterprise_id: str | None = None,
    installed_team_id: str | None = None,
    installed_enterprise_id: str | None = None,
    org_wide: bool = False,
    shared: bool = False,
) -> str:
    """The JSON envelope Slack wraps every Events API delivery in.

    `installed_team_id`: the workspace that installed allybot when it is not the envelope's
    (a Slack Connect channel shared with `team_id`'s organisation; set `shared`).
    `org_wide`: allybot installed org-wide in the Enterprise Grid org `enterprise_id`; Slack
    then names no team in `authorizations`.
    """
    context = {
        "et": event.get("type"),
        "tid": team_id,
        "aid": api_app_id,
        "cid": event.get("channel") if isinstance(event.get("channel"), str) else None,
    }
    encoded = base64.urlsafe_b64encode(json.dumps(context).encode()).decode().rstrip("=")
    envelope: JsonDict = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or fresh_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": installed_enterprise_id
                if installed_team_id is not None
                else enterprise_id,
                "team_id": None if org_wide else (installed_team_id or team_id),
                "user_id": authorizations_user_id,
                "is_bot": True,
                "is_enterprise_install": org_wide,
            }
        ],
        "is_ext_shared_channel": shared,
        "event_context": f"4-{encoded}",
    }
    if enterprise_id is not None:
        envelope["enterprise_id"] = enterprise_id
    return json.dumps(envelope)


def message_event(
    *,
    channel: str,
    user: str,
    text: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
    team: str = DEFAULT_TEAM_ID,
    subtype: str | None = None,
    bot_id: str | None = None,
) -> JsonDict:
    """A `message` event as a person's Slack client produces it, rich-text blocks included."""
    stamp = ts or fresh_ts()
    if channel_type is None:
        channel_type = {"D": "im", "G": "mpim"}.get(channel[:1], "channel")
    event: JsonDict = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": stamp,
        "event_ts": stamp,
        "channel_type": channel_type,
        "team": team,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": uuid.uuid4().hex[:5],
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
    }
    if bot_id is None:
        event["client_msg_id"] = str(uuid.uuid4())
    else:
        event["bot_id"] = bot_id
        event["app_id"] = APP_ID
    if subtype is not None:
        event["subtype"] = subtype
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = user
    return event


def _reaction_event(
    kind: str,
    *,
    user: str,
    reaction: str,
    channel: str,
    item_ts: str,
    item_user: str | None,
    event_ts: str | None,
) -> JsonDict:
    """The shared shape of reaction_added and reaction_removed."""
    event: JsonDict = {
        "type": kind,
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": item_ts},
        "event_ts": event_ts or fresh_ts(),
    }
    if item_user is not None:
        event["item_user"] = item_user
    return event


def reaction_added_event(
    *,
    user: str,
    reaction: str,
    channel: str,
    item_ts: str,
    item_user: str | None = None,
    event_ts: str | None = None,
) -> JsonDict:
    """A `reaction_added` event; `item_user` is the author of the reacted-to message."""
    return _reaction_event(
        "reaction_added",
        user=user,
        reaction=reaction,
        channel=channel,
        item_ts=item_ts,
        item_user=item_user,
        event_ts=event_ts,
    )


def reaction_removed_event(
    *,
    user: str,
    reaction: str,
    channel: str,
    item_ts: str,
    item_user: str | None = None,
    event_ts: str | None = None,
) -> JsonDict:
    """A `reaction_removed` event, the mirror of reaction_added."""
    return _reaction_event(
        "reaction_removed",
        user=user,
        reaction=reaction,
        channel=channel,
        item_ts=item_ts,
        item_user=item_user,
        event_ts=event_ts,
    )


def app_home_opened_event(
    *,
    user: str,
    channel: str | None = None,
    tab: str = "home",
    view: JsonDict | None = None,
    event_ts: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
) -> JsonDict:
    """An `app_home_opened` event; Slack includes `view` only once a Home was published."""
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel or dm_channel_id(user),
        "tab": tab,
        "event_ts": event_ts or fresh_ts(),
    }
    if view is not None:
        event["view"] = _complete_view({"type": "home", **view}, team_id=team_id, api_app_id=APP_ID)
    return event


def user_change_event(user: JsonDict) -> JsonDict:
    """A `user_change` event carrying the full users.info-style user object."""
    return {
        "type": "user_change",
        "user": user,
        "cache_ts": int(time.time()),
        "event_ts": fresh_ts(),
    }


def team_join_event(user: JsonDict) -> JsonDict:
    """A `team_join` event: a new member, with the full users.info-style user object."""
    return {"type": "team_join", "user": user, "event_ts": fresh_ts()}


def member_joined_channel_event(
    *, user: str, channel: str, team: str, inviter: str | None = None
) -> JsonDict:
    """A `member_joined_channel` event as Slack documents it: ids only, `inviter` when
    someone added them, `channel_type` C (public, or private since 2021) or G."""
    event: JsonDict = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": team,
        "event_ts": fresh_ts(),
    }
    if inviter is not None:
        event["inviter"] = inviter
    return event


def app_uninstalled_event() -> JsonDict:
    """An `app_uninstalled` event, which carries nothing but its type."""
    return {"type": "app_uninstalled"}


def tokens_revoked_event(bot_ids: list[str], *, oauth_ids: list[str] | None = None) -> JsonDict:
    """A `tokens_revoked` event; Slack lists the user ids whose tokens died."""
    return {
        "type": "tokens_revoked",
        "tokens": {"oauth": list(oauth_ids or []), "bot": list(bot_ids)},
    }


def url_verification(challenge: str) -> str:
    """The JSON body Slack sends once to confirm the Events API request URL."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )


# ---------------------------------------------------------------------------
# Interactivity


def block_actions(
    *,
    user_id: str,
    team_id: str,
    action_id: str,
    value: str,
    block_id: str = "b",
    channel_id: str | None = None,
    message_ts: str | None = None,
    view: JsonDict | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
    user_name: str = "ann",
    team_domain: str = "acme",
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    message: JsonDict | None = None,
    button_text: str = "Button",
) -> str:
    """A button click, in a message (give channel_id) or in a view (give view).

    Slack only sends response_url for clicks in messages; pass the double's
    ``response_url(key)`` so replies never leave the machine.
    """
    if channel_id is None and view is None:
        raise ValueError("a block action happens in a message (channel_id) or a view")
    action = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": button_text, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    payload: JsonDict = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or fresh_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": _enterprise(enterprise_id),
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [action],
    }
    if view is not None:
        full_view = _complete_view(view, team_id=team_id, api_app_id=api_app_id)
        payload["container"] = {"type": "view", "view_id": full_view["id"]}
        payload["view"] = full_view
    if channel_id is not None:
        ts = message_ts or (message or {}).get("ts") or fresh_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        payload["message"] = message or {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": api_app_id,
            "text": "",
            "team": team_id,
            "blocks": [
                {
                    "type": "actions",
                    "block_id": block_id,
                    "elements": [{k: v for k, v in action.items() if k != "action_ts"}],
                }
            ],
        }
    if response_url is not None:
        payload["response_url"] = response_url
    return form_payload(payload)


def view_submission(
    *,
    user_id: str,
    team_id: str,
    callback_id: str,
    state_values: JsonDict,
    private_metadata: str = "",
    view_id: str | None = None,
    trigger_id: str | None = None,
    user_name: str = "ann",
    team_domain: str = "acme",
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    blocks: list[JsonDict] | None = None,
) -> str:
    """A modal's Submit, with `state.values` keyed by block_id then action_id as Slack sends."""
    view = _complete_view(
        {
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": blocks or [],
            "state": {"values": state_values},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        },
        team_id=team_id,
        api_app_id=api_app_id,
        view_id=view_id,
    )
    payload: JsonDict = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or fresh_trigger_id(),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": _enterprise(enterprise_id),
    }
    return form_payload(payload)


def message_shortcut(
    *,
    user_id: str,
    team_id: str,
    callback_id: str,
    channel_id: str,
    message: JsonDict,
    trigger_id: str | None = None,
    response_url: str | None = None,
    user_name: str = "ann",
    team_domain: str = "acme",
    channel_name: str = "general",
    enterprise_id: str | None = None,
) -> str:
    """A message shortcut (Slack's `message_action`) run on `message`.

    Pass the double's ``response_url(key)``; without one the field is left out rather than
    pointing at hooks.slack.com.
    """
    full_message = {"type": "message", **message}
    full_message.setdefault("ts", fresh_ts())
    payload: JsonDict = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": _enterprise(enterprise_id),
        "callback_id": callback_id,
        "trigger_id": trigger_id or fresh_trigger_id(),
        "message_ts": full_message["ts"],
        "message": full_message,
    }
    if response_url is not None:
        payload["response_url"] = response_url
    return form_payload(payload)
