"""The Alembic migrations and the models describe the same schema, on both backends."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot import migrate
from bot.db import Database
from bot.migrate import HEAD, alembic_config, current_revisions, head_revisions, upgrade
from bot.models import Base


async def test_autogenerate_finds_no_difference(db: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upgrade_is_idempotent_and_at_head(db: Database) -> None:
    await upgrade(db)
    async with db.engine.connect() as conn:
        assert await conn.run_sync(current_revisions) == head_revisions()


def test_the_head_allybot_expects_is_alembics_one_head() -> None:
    """A new migration moves `bot.migrate.HEAD` with it: start-up reads HEAD, not the
    scripts, while HEAD names the newest script (the test below)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [HEAD], f"set HEAD in bot/migrate.py to the newest revision, {heads}"
    assert migrate.head_revisions() == {HEAD}


def test_a_head_left_behind_by_a_new_migration_is_not_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Were HEAD not moved with a new migration, the database at the old one would be taken
    as current and the new migration never run: Alembic's scripts decide instead."""
    script = ScriptDirectory.from_config(alembic_config())
    older = script.get_revision(HEAD).down_revision
    assert isinstance(older, str)
    monkeypatch.setattr(migrate, "HEAD", older)
    migrate._heads.cache_clear()
    try:
        assert migrate.head_revisions() == {HEAD}
    finally:
        migrate._heads.cache_clear()


def test_a_command_starts_without_alembic_or_the_yaml_parser() -> None:
    """Every `allybot` process imports the app; Alembic (with Mako and Pygments) and PyYAML
    are imported only to upgrade and to read content or a settings file."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, allybot.app, allybot.cli, scheduler.planner, scheduler.sender; "
            "print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert "allybot.app" in loaded
    assert not [m for m in loaded if m.split(".")[0] in {"alembic", "mako", "pygments", "yaml"}]
