"""The Slack app manifest creates allybot in one paste, so hold it against Slack's own schema.

The schema is read from the shared oracles folder next to the project and never copied in;
the routes and identifiers asserted here are the ones allybot serves and handles.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.oracles import oracles_dir

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = PROJECT_ROOT / "manifest.yml"
SCHEMA_PATH = oracles_dir() / "slack-manifest.schema.1.0.0.json"

EXPECTED_COMMANDS = {"/kudos", "/commit", "/ally"}
EXPECTED_SHORTCUTS = {"give_kudos_for_message", "track_as_commitment"}
EXPECTED_BOT_EVENTS = {
    "app_home_opened",
    "app_mention",
    "message.channels",
    "message.groups",
    "reaction_added",
    "reaction_removed",
    "app_uninstalled",
    "tokens_revoked",
    "user_change",
    "message.im",
    "team_join",
    "member_joined_channel",
}
EXPECTED_BOT_SCOPES = {
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "chat:write",
    "commands",
    "im:history",
    "im:write",
    "mpim:write",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users.profile:read",
    "files:write",
}
EVENTS_PATH = "/slack/events"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
CALLBACK_PATH = "/dashboard/callback"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """Parse manifest.yml the way Slack does: plain YAML, no custom tags."""
    with MANIFEST_PATH.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "manifest.yml must be a YAML mapping"
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """Load Slack's manifest schema; skip only when the shared oracle is not present, and
    never in CI (CI=true), where a missing schema would quietly drop the check."""
    if not SCHEMA_PATH.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Slack manifest schema not found at {SCHEMA_PATH} (CI=true)")
        pytest.skip(f"Slack manifest schema not found at {SCHEMA_PATH}")
    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def test_manifest_matches_slack_schema(manifest: dict[str, Any], schema: dict[str, Any]) -> None:
    """A manifest Slack's schema rejects cannot create the app, so every error is listed."""
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    messages = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
    assert not messages, "manifest.yml violates the Slack schema:\n" + "\n".join(messages)


def test_manifest_metadata_is_v1(manifest: dict[str, Any]) -> None:
    """The v1 schema is the one checked above, so the manifest must declare major version 1."""
    assert manifest["_metadata"] == {"major_version": 1, "minor_version": 1}


def test_display_information(manifest: dict[str, Any]) -> None:
    """The schema names the colour pattern under a non-standard key, so check it here."""
    info = manifest["display_information"]
    assert info["name"] == "allybot"
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])


def test_slash_commands_are_exactly_allybots(manifest: dict[str, Any]) -> None:
    """allybot parses `<@U…|name>` mentions, which Slack only sends with should_escape on."""
    commands = manifest["features"]["slash_commands"]
    names = [c["command"] for c in commands]
    assert sorted(names) == sorted(EXPECTED_COMMANDS)
    assert len(names) == len(set(names))
    for command in commands:
        assert command["should_escape"] is True, command["command"]
        assert command["url"].endswith(EVENTS_PATH), command["command"]
        assert command.get("usage_hint"), command["command"]


def test_message_shortcuts(manifest: dict[str, Any]) -> None:
    """The handlers are registered by callback_id; a rename here would orphan them."""
    shortcuts = manifest["features"]["shortcuts"]
    by_id = {s["callback_id"]: s for s in shortcuts}
    missing = EXPECTED_SHORTCUTS - set(by_id)
    assert not missing, f"shortcuts lack {sorted(missing)}"
    for callback_id in EXPECTED_SHORTCUTS:
        assert by_id[callback_id]["type"] == "message"


def test_app_home_and_bot_user(manifest: dict[str, Any]) -> None:
    """The Home tab is where allies, commitments and figures are shown."""
    features = manifest["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    # People can write to allybot there: message.im delivers it and allybot answers.
    assert features["app_home"]["messages_tab_read_only_enabled"] is False
    assert "message.im" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert features["bot_user"]["display_name"] == "allybot"


def test_bot_events(manifest: dict[str, Any]) -> None:
    """Every event allybot handles must be subscribed, or Slack never sends it; and nothing
    it would only ack and drop is asked for."""
    bot_events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(bot_events) == EXPECTED_BOT_EVENTS
    assert len(bot_events) == len(set(bot_events))


def test_bot_scopes_are_minimal(manifest: dict[str, Any]) -> None:
    """allybot asks for what it uses and nothing more; the only user scopes are Sign in with
    Slack's, for the dashboard."""
    from bot.dashboard.signin import SCOPES

    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes["bot"]) == EXPECTED_BOT_SCOPES
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert scopes["user"] == list(SCOPES) == ["openid", "profile"]


def test_settings_and_request_urls(manifest: dict[str, Any]) -> None:
    """Events, commands and interactivity share POST /slack/events; OAuth returns elsewhere."""
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is True  # org-wide installs on Enterprise Grid
    assert settings["token_rotation_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is True

    request_urls = [settings["event_subscriptions"].get("request_url")]
    request_urls.append(settings["interactivity"].get("request_url"))
    request_urls.extend(c.get("url") for c in manifest["features"]["slash_commands"])
    for url in request_urls:
        if url is not None:
            assert url.startswith("https://"), url
            assert url.endswith(EVENTS_PATH), url

    redirect_urls = manifest["oauth_config"]["redirect_urls"]
    assert redirect_urls
    for url in redirect_urls:
        assert url.startswith("https://"), url
    paths = sorted(urlsplit(url).path for url in redirect_urls)
    assert paths == sorted([OAUTH_REDIRECT_PATH, CALLBACK_PATH])
