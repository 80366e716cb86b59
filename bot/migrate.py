"""Schema upgrades through Alembic, run by `allybot migrate` and on start."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
LOCK_ID = 0x616C6C79  # PostgreSQL advisory lock: one replica migrates at a time.


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


logger = logging.getLogger(__name__)
VERSION_TABLE = "alembic_version"


# The newest migration in migrations/versions. Every command compares the database with it
# on start; reading it from Alembic's scripts would import Alembic (with Mako and Pygments,
# about a tenth of a second of CPU) in every process, where only an upgrade needs it.
# tests/test_migrations.py checks that it is Alembic's one head.
HEAD = "f0a1b2c3d4e5"


def head_revisions() -> set[str]:
    """The revisions this code expects."""
    return set(_heads())


@cache
def _heads() -> frozenset[str]:
    """HEAD, while it names the newest file in migrations/versions (their names begin with
    the minute they were made: alembic.ini's file_template); else a migration came without
    HEAD moving with it, and Alembic's own reading of the scripts decides, so that it is
    never skipped."""
    newest = max((p.name for p in (MIGRATIONS / "versions").glob("[0-9]*.py")), default="")
    if f"_{HEAD}_" in newest:
        return frozenset({HEAD})
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _stored_revisions(connection: Connection) -> set[str]:
    """The revisions the database is at, read without Alembic's per-call INFO lines;
    empty when allybot's tables were never created there."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return {str(r[0]) for r in rows}


async def current(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_stored_revisions)


def current_revisions(connection: Connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


async def upgrade(db: Database) -> None:
    """Bring the database to the newest schema; safe when replicas start together. A
    database already at head is left alone without a word (every CLI command calls this)."""
    if await current(db) == head_revisions():
        return
    from alembic import command

    cfg = alembic_config()

    def _run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(_run)
            await conn.commit()
        finally:
            if db.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                await conn.commit()


async def schema_state(db: Database) -> dict[str, object]:
    """What /healthz reports: the database answers, and whether its schema is at head."""
    stored = await current(db)
    heads = head_revisions()
    return {
        "database": "ok",
        "schema": "head" if stored == heads else "behind",
        "revision": sorted(stored),
        "head": sorted(heads),
    }
