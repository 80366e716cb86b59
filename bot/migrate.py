"""Schema upgrades through Alembic, run by `allybot migrate` and on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.db import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
LOCK_ID = 0x616C6C79  # PostgreSQL advisory lock: one replica migrates at a time.


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def upgrade(db: Database) -> None:
    """Bring the database to the newest schema; safe when replicas start together."""
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
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        current = await conn.run_sync(current_revisions)
    heads = head_revisions()
    return {
        "database": "ok",
        "schema": "head" if current == heads else "behind",
        "revision": sorted(current),
        "head": sorted(heads),
    }
