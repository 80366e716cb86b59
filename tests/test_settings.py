"""Start-up refuses a missing or malformed setting with one line and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALLYBOT_"))}
    clean.update({"DATABASE_URL": "sqlite:///:memory:", **env})
    return subprocess.run(
        [sys.executable, "-m", "allybot.cli", *args],
        cwd=ROOT / "tests",  # no .env file there
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "DATABASE_URL": "nope"},
            "DATABASE_URL",
        ),
        (
            {
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_BOT_TOKEN": "xoxb-1",
                "DATABASE_URL": "mysql://x/y",
            },
            "DATABASE_URL",
        ),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "ftp://x"},
            "SLACK_API_URL",
        ),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "ALLYBOT_LOG_LEVEL": "LOUD"},
            "ALLYBOT_LOG_LEVEL",
        ),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "ALLYBOT_LOG_FORMAT": "xml"},
            "ALLYBOT_LOG_FORMAT",
        ),
    ],
)
def test_bad_setting_stops_serve_with_one_line(env: dict[str, str], names: str) -> None:
    result = run_cli("serve", "--port", "0", **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert names in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_token_points_at_the_manifest() -> None:
    result = run_cli("serve", SLACK_SIGNING_SECRET="s")
    assert result.returncode == 2
    assert "manifest.yml" in result.stderr


def test_socket_mode_needs_the_app_token() -> None:
    result = run_cli("socket", SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr


def test_tick_rejects_a_malformed_instant() -> None:
    result = run_cli("tick", "--now", "next tuesday")
    assert result.returncode == 2
    assert "ISO-8601" in result.stderr
