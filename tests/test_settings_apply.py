"""Workspace settings from a YAML file (`allybot settings apply`), checked like the modal."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from allybot.cli import main
from bot.blocks.admin import SLACK_USER, who
from bot.db import Database
from bot.migrate import alembic_config
from bot.models import Kudos, SettingChange, Workspace
from bot.services import workspace_settings as ws
from bot.services.people import ensure_workspace
from scheduler.digest import post_digests
from tests.conftest import ROOT, new_database, server_env
from tests.helpers import running_bot, seed_people
from tests.slack_double import SlackDouble

VALID = """\
# allybot settings for the Acme workspace
kudos_channel: C0KUDOS01
kudos_emoji: ":tada:"
daily_kudos_limit: 8
daily_dm_budget: 3
tags:
  - craft
  - "#Customer-First"
intros_channel: C0INTROS1
intros_cadence: every 4 weeks
intros_group_size: 3
intros_day: thursday
intros_mode: opt-out
welcome_newcomers: off
intros_without_overlap: on
intros_team_field: Team
intros_location_field: Xf0OFFICE1
intros_shared_channels: 3
digest_day: friday
window_start: 08:30
window_end: 16:00
language: Deutsch
"""


def new_team() -> str:
    return "T" + uuid.uuid4().hex[:10].upper()


def problems(text: str) -> list[str]:
    with pytest.raises(ws.SettingsFileError) as raised:
        ws.parse_file(text, name="acme.yaml")
    return raised.value.problems


# -- the model and the file, without a database ------------------------------------------


def test_a_valid_file_reads_as_the_workspace_stores_it() -> None:
    settings = ws.parse_file(VALID)
    assert settings.model_dump() == {
        "kudos_channel": "C0KUDOS01",
        "kudos_emoji": "tada",
        "daily_kudos_limit": 8,
        "daily_dm_budget": 3,
        "tags": ["craft", "customer-first"],
        "intros_channel": "C0INTROS1",
        "intros_cadence": 4,
        "intros_group_size": 3,
        "intros_day": 3,
        "intros_mode": "opt_out",
        "welcome_newcomers": False,
        "intros_without_overlap": True,
        "intros_team_field": "Team",
        "intros_location_field": "Xf0OFFICE1",
        "intros_shared_channels": 3,
        "digest_day": 4,
        "window_start": 510,  # an unquoted 08:30 is a time, not YAML 1.1's base-60 number
        "window_end": 960,
        "language": "de",
    }


def test_each_invalid_setting_names_its_line() -> None:
    found = problems(
        "kudos_emoji: ':raised_hands::skin-tone-2:'\n"
        "daily_kudos_limit: 0\n"
        "tags:\n"
        "  - craft\n"
        "  - 9lives\n"
        "intros_cadence: monthly\n"
        "intros_group_size: 5\n"
        "intros_day: sunday\n"
        "intros_mode: maybe\n"
        "digest_day: someday\n"
        "kudos_channel: '#general'\n"
        "window_start: 25:00\n"
        "window_end: '17:00'\n"
    )
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["acme.yaml:1", "kudos_emoji"],
        ["acme.yaml:2", "daily_kudos_limit"],
        ["acme.yaml:5", "tags"],
        ["acme.yaml:6", "intros_cadence"],
        ["acme.yaml:7", "intros_group_size"],
        ["acme.yaml:8", "intros_day"],
        ["acme.yaml:9", "intros_mode"],
        ["acme.yaml:10", "digest_day"],
        ["acme.yaml:11", "kudos_channel"],
        ["acme.yaml:12", "window_start"],
    ]
    assert "skin tone" in found[0] and "from 1 to 50" in found[1] and "#9lives" in found[2]
    assert "working day" in found[5] and "channel id" in found[8] and "24-hour" in found[9]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("daily_kudos_limit: 5\ncolour: blue\n", 2, "`colour` is not a setting"),
        ("daily_kudos_limit: 5\ndaily_kudos_limit: 6\n", 2, "set twice (first on line 1)"),
        ("kudos_emoji: tada\ntags: [craft\n", 3, "not valid YAML"),
        ("", 1, "empty"),
        ("- craft\n", 1, "one `setting: value` a line"),
        ("window_start: '09:00'\n", 1, "both ends of the delivery window"),
        ("window_start: 09:00\nwindow_end: 09:30\n", 2, "at least an hour"),
        ("daily_kudos_limit: 51\n", 1, "from 1 to 50"),
        ("daily_kudos_limit: yes\n", 1, "whole number"),
        ("daily_dm_budget: 0\n", 1, "from 1 to 50"),
        ("daily_dm_budget: many\n", 1, "daily DM budget"),
        ("tags: " + ", ".join(f"t{i}" for i in range(21)).join("[]") + "\n", 1, "at most 20"),
    ],
)
def test_file_problems(text: str, line: int, words: str) -> None:
    (problem,) = problems(text)
    assert problem.startswith(f"acme.yaml:{line}: ") and words in problem, problem


def test_modal_forms_and_field_errors() -> None:
    settings = ws.validate(
        {
            "kudos_channel": "<#C0KUDOS01|kudos>",
            "kudos_emoji": "clap",
            "tags": "#craft, teamwork  customer-first",
            "intros_cadence": "weekly",
            "intros_group_size": "2",
            "digest_day": "Mon",
        }
    )
    assert settings.kudos_channel == "C0KUDOS01" and settings.kudos_emoji == "clap"
    assert settings.tags == ["craft", "customer-first"]  # #teamwork is always a tag
    assert (settings.intros_cadence, settings.digest_day) == (1, 0)
    with pytest.raises(ValidationError) as raised:
        ws.validate({"kudos_emoji": "", "daily_kudos_limit": None, "window_start": None})
    errors = ws.field_errors(raised.value)
    assert set(errors) == {"kudos_emoji", "daily_kudos_limit", "window_start"}


@pytest.mark.parametrize("written", ["²", "1²", "-1", "0", "51", "2.5", "true"])
def test_a_limit_that_is_no_whole_number_gets_the_limit_message(written: str) -> None:
    """A superscript digit passes str.isdigit but not int(): still the field's own words."""
    with pytest.raises(ValidationError) as raised:
        ws.validate({"daily_kudos_limit": written, "daily_dm_budget": written})
    errors = ws.field_errors(raised.value)
    assert errors["daily_kudos_limit"].startswith("The daily limit is a whole number")
    assert errors["daily_dm_budget"].startswith("The daily DM budget is how many DMs")


# -- applied to a database -----------------------------------------------------------------


async def test_apply_writes_what_changed_and_records_it(db: Database) -> None:
    team_id = new_team()
    now = datetime.now(UTC)
    async with db.session() as session:
        await ensure_workspace(session, team_id=team_id)
    partial = ws.parse_file("daily_kudos_limit: 7\nkudos_emoji: raised_hands\n")
    async with db.session() as session:
        changes = await ws.apply(
            session, team_id=team_id, settings=partial, changed_by="U0ADMIN01", now=now
        )
    # The emoji was already raised_hands: only the limit changed; the rest kept its values.
    assert [(c.field, c.old, c.new) for c in changes] == [("daily_kudos_limit", "5", "7")]
    async with db.session() as session:
        workspace = await session.get(Workspace, team_id)
        rows = list(
            (
                await session.execute(select(SettingChange).where(SettingChange.team_id == team_id))
            ).scalars()
        )
    assert workspace is not None
    assert (workspace.daily_kudos_limit, workspace.window_start, workspace.digest_day) == (
        7,
        540,
        0,
    )
    assert [(r.changed_by, r.field, r.old_value, r.new_value) for r in rows] == [
        ("U0ADMIN01", "daily_kudos_limit", "5", "7")
    ]


# -- the command line ------------------------------------------------------------------------


async def run_apply(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allybot.cli",
        "settings",
        "apply",
        *args,
        cwd=ROOT,
        env=server_env(database_url, "http://127.0.0.1:9/api/"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def settings_of(db: Database, team_id: str) -> tuple[Workspace | None, list[SettingChange]]:
    async with db.session() as session:
        workspace = await session.get(Workspace, team_id)
        stmt = select(SettingChange).where(SettingChange.team_id == team_id)
        return workspace, list((await session.execute(stmt.order_by(SettingChange.id))).scalars())


async def test_cli_applies_a_valid_file(db: Database, database_url: str, tmp_path: Path) -> None:
    team_id = new_team()
    path = tmp_path / "acme.yaml"
    path.write_text(VALID)
    code, out, err = await run_apply(
        database_url, str(path), "--team", team_id, "--by", "ops", "--create"
    )
    assert code == 0, err
    assert f"{team_id}: 19 settings changed" in out and "daily kudos limit: 5 → 8" in out
    assert "daily DM budget per pair: 5 → 3" in out
    workspace, changes = await settings_of(db, team_id)
    assert workspace is not None
    assert (
        workspace.kudos_channel_id,
        workspace.kudos_emoji,
        workspace.daily_kudos_limit,
        workspace.custom_tags,
        workspace.intros_channel_id,
        workspace.intros_cadence_weeks,
        workspace.intros_group_size,
        workspace.intros_day,
        workspace.intros_mode,
        workspace.digest_day,
        workspace.window_start,
        workspace.window_end,
    ) == (
        "C0KUDOS01",
        "tada",
        8,
        ["craft", "customer-first"],
        "C0INTROS1",
        4,
        3,
        3,
        "opt_out",
        4,
        510,
        960,
    )
    assert len(changes) == 19 and {c.changed_by for c in changes} == {"ops"}
    # Applying the same file again changes nothing and records nothing.
    async with db.session() as session:
        again = await ws.apply(
            session,
            team_id=team_id,
            settings=ws.parse_file(VALID),
            changed_by="ops",
            now=datetime.now(UTC),
        )
    assert again == [] and len((await settings_of(db, team_id))[1]) == 19


async def test_cli_asks_for_create_for_a_workspace_it_never_saw(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A typo in --team must not quietly set up a workspace nobody has."""
    team_id = new_team()
    path = tmp_path / "acme.yaml"
    path.write_text(VALID)
    code, out, err = await run_apply(database_url, str(path), "--team", team_id)
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "--create" in err and team_id in err
    assert "Traceback" not in err
    assert await settings_of(db, team_id) == (None, [])


async def test_cli_refuses_an_invalid_file_and_changes_nothing(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    team_id = new_team()
    async with db.session() as session:
        await ensure_workspace(session, team_id=team_id)
    path = tmp_path / "acme.yaml"
    path.write_text("kudos_emoji: ':tada:'\ndaily_kudos_limit: 500\ndigest_day: friday\n")
    code, out, err = await run_apply(database_url, str(path), "--team", team_id)
    assert code == 2 and out == ""
    assert f"{path}:2: daily_kudos_limit: The daily limit is a whole number" in err
    assert "nothing changed" in err
    workspace, changes = await settings_of(db, team_id)
    assert workspace is not None and changes == []
    assert (workspace.kudos_emoji, workspace.daily_kudos_limit, workspace.digest_day) == (
        "raised_hands",
        5,
        0,
    )


async def test_cli_refuses_an_unknown_key(db: Database, database_url: str, tmp_path: Path) -> None:
    team_id = new_team()
    path = tmp_path / "acme.yaml"
    path.write_text("daily_kudos_limit: 3\nkudos_limit_per_week: 10\n")
    code, _, err = await run_apply(database_url, str(path), "--team", team_id)
    assert code == 2
    assert f"{path}:2: kudos_limit_per_week: `kudos_limit_per_week` is not a setting" in err
    workspace, changes = await settings_of(db, team_id)
    assert workspace is None and changes == []


@pytest.mark.parametrize(
    ("file", "team", "words"),
    [
        ("missing.yaml", "T0123ABCD", "can't read"),
        ("acme.yaml", "acme", "not a Slack workspace id"),
    ],
)
def test_cli_refuses_a_missing_file_or_a_bad_team(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    file: str,
    team: str,
    words: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never-opened.db'}")
    (tmp_path / "acme.yaml").write_text("daily_kudos_limit: 3\n")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(["settings", "apply", str(tmp_path / file), "--team", team]) == 2
    finally:  # main() sets up logging for a process of its own; give pytest's back
        root.handlers[:] = handlers
        root.setLevel(level)
    assert words in capsys.readouterr().err
    assert not (tmp_path / "never-opened.db").exists()


# -- the default window migration -----------------------------------------------------------


async def migrate_to(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config()

    def run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)

    async with db.engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


async def test_people_on_the_old_default_follow_the_workspace_default(
    backend: str, tmp_path: Path
) -> None:
    """09:00-17:00 was everyone's default and can't be told from a choice: it becomes "the
    workspace's default"; any other window stays the person's own; downgrading fills it in."""
    async with new_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            await migrate_to(db, "c8d2f3e4b5a6")
            async with db.session() as session:
                await session.execute(
                    text(
                        "INSERT INTO workspaces (team_id, kudos_emoji, daily_kudos_limit, "
                        "custom_tags, installed_at, window_start, window_end) VALUES "
                        "('T1', 'raised_hands', 5, '[]', :now, 420, 900)"
                    ),
                    {"now": datetime.now(UTC)},
                )
                for user, start, end in (("UOLD", 540, 1020), ("UOWN", 600, 1080)):
                    await session.execute(
                        text(
                            "INSERT INTO people (team_id, user_id, tz, is_bot, deleted, is_admin,"
                            " is_owner, tips_cadence, window_start, window_end, opted_out,"
                            " created_at) VALUES ('T1', :user, 'UTC', false, false, false, false,"
                            " 'weekly', :start, :end, false, :now)"
                        ),
                        {"user": user, "start": start, "end": end, "now": datetime.now(UTC)},
                    )
            await migrate_to(db, "d9e3a4b5c6f7")

            async def windows() -> dict[str, tuple[int | None, int | None]]:
                async with db.session() as session:
                    rows = await session.execute(
                        text("SELECT user_id, window_start, window_end FROM people")
                    )
                    return {r[0]: (r[1], r[2]) for r in rows}

            assert await windows() == {"UOLD": (None, None), "UOWN": (600, 1080)}
            await migrate_to(db, "c8d2f3e4b5a6", down=True)
            assert await windows() == {"UOLD": (420, 900), "UOWN": (600, 1080)}
        finally:
            await db.dispose()


# -- settings from a file take effect ---------------------------------------------------------


async def test_the_digest_comes_on_the_workspace_digest_day(
    db: Database, slack: SlackDouble, database_url: str
) -> None:
    team_id, channel = new_team(), "C" + uuid.uuid4().hex[:10].upper()
    giver, receiver = await seed_people(
        db, slack, team_id=team_id, people=[{"tz": "UTC", "tips_cadence": "off"}] * 2
    )
    wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    async with db.session() as session:
        await ws.apply(
            session,
            team_id=team_id,
            settings=ws.parse_file(f"kudos_channel: {channel}\ndigest_day: thursday\n"),
            changed_by="cli",
            now=wednesday,
        )
        session.add(
            Kudos(
                team_id=team_id,
                giver_id=giver,
                receiver_id=receiver,
                text="steady hand on the release",
                tags=[],
                source="command",
                source_key=uuid.uuid4().hex,
                created_at=wednesday - timedelta(days=1),
            )
        )
    async with running_bot(database_url, slack) as bot:
        monday, thursday = wednesday - timedelta(days=2), wednesday + timedelta(days=1)
        for day in (monday, wednesday):
            await post_digests(bot, now=day, team_id=team_id)
        assert slack.calls_to("chat.postMessage", channel=channel) == []
        assert await post_digests(bot, now=thursday, team_id=team_id) == 1
    assert len(slack.calls_to("chat.postMessage", channel=channel)) == 1


# -- who a change is credited to ------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("<!channel>", "is not a name"),
        ("U0ADMIN01", "looks like a Slack person's id"),
        ("anon-3cc3c50a5cba3818", "looks like a Slack person's id"),
    ],
)
async def test_cli_refuses_a_label_that_pings_or_passes_for_a_person(
    db: Database, database_url: str, tmp_path: Path, label: str, words: str
) -> None:
    team_id = new_team()
    path = tmp_path / "acme.yaml"
    path.write_text("daily_kudos_limit: 3\n")
    code, out, err = await run_apply(
        database_url, str(path), "--team", team_id, "--by", label, "--create"
    )
    assert (code, out) == (2, "") and "Traceback" not in err
    assert words in err and "nothing changed" in err
    assert await settings_of(db, team_id) == (None, [])


@examples(max_examples=60, deadline=None)
@given(label=st.text(max_size=80) | st.sampled_from(["<!channel>", "<@U0ADMIN01|ann>", "&lt;"]))
def test_the_history_shows_any_stored_label_as_text_that_cannot_ping(label: str) -> None:
    """Older records may hold any label: shown in the admin modal, none becomes a token."""
    shown = who(label)
    if SLACK_USER.match(label):
        assert shown == f"<@{label}>"
    else:
        assert "<" not in shown and ">" not in shown
