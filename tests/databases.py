"""Scratch PostgreSQL databases for tests and benchmarks: created fresh, always dropped."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def scratch_postgres(
    admin_dsn: str, *, prefix: str, template: str | None = None
) -> AsyncIterator[str]:
    """A new database on the server `admin_dsn` points at, so runs never collide; a copy of
    the database named `template` when given (nobody may be connected to that one)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copy_of}')
    finally:
        await admin.close()
    try:
        yield f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
