"""What `allybot` checks before it starts, and the one line it prints when a fault is the
operator's to fix (a database it cannot reach, a folder that is missing, a read-only file)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from bot import health, migrate
from bot.db import Database, sqlite_path

DISK_FULL = "53100"  # PostgreSQL's SQLSTATE for "disk full"


_REASONS = {
    "ConnectionRefusedError": "connection refused",
    "TimeoutError": "timed out",
    "gaierror": "unknown host",
}


class Refusal(Exception):
    """A fault the operator fixes; the message is one line that says what and what to do."""


def where(url: str | URL) -> str:
    """The database as the operator would name it, never with its password."""
    u = make_url(url)
    path = sqlite_path(u)
    if path is not None:
        return f"the SQLite database {path}"
    if u.get_backend_name() == "sqlite":
        return "the in-memory SQLite database"
    return f"PostgreSQL at {u.host or 'localhost'}:{u.port or 5432}/{u.database or ''}"


def in_memory(url: str | URL) -> bool:
    """SQLite in memory (`:memory:`, an empty name, or a `mode=memory` URI)."""
    u = make_url(url)
    name = u.database or ""
    return u.get_backend_name() == "sqlite" and (
        name in ("", ":memory:") or "mode=memory" in name or u.query.get("mode") == "memory"
    )


def check_sqlite_path(url: str | URL, *, must_exist: bool) -> None:
    """Refuse a SQLite file whose folder is missing, or that is missing when it must exist,
    before anything opens (and so creates) it."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise Refusal(
            f"the folder {path.parent} for the SQLite database in DATABASE_URL does not exist: "
            "create it, or point DATABASE_URL at another file"
        )
    if must_exist and not path.exists():
        raise Refusal(
            f"there is no allybot database at {path}: check DATABASE_URL (it must name the "
            "database allybot serve uses), or run `allybot migrate` to create an empty one"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise Refusal(_read_only(path))
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise Refusal(
            f"allybot cannot write in {path.parent}, the folder of its SQLite database "
            "(SQLite keeps its journal beside the file): give allybot's user write access "
            "to it, or point DATABASE_URL elsewhere"
        )


def _read_only(path: Path) -> str:
    return (
        f"the SQLite database {path} is read-only for this user: give allybot's user write "
        "access to the file and its folder, or point DATABASE_URL at a writable copy"
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def explain(exc: BaseException, url: str | URL, *, network: bool = True) -> str | None:
    """One line for a database fault the operator can fix, or None for anything else.

    `network`: a connection error is the database's (true while opening it, not later,
    when it may be Slack's)."""
    target = where(url)
    path = sqlite_path(url)
    for e in _chain(exc):
        if isinstance(e, sqlite3.Error):
            text = str(e).lower()
            if "readonly" in text or "read-only" in text:
                return _read_only(path) if path else f"{target} is read-only"
            if "disk is full" in text or "disk i/o error" in text:
                return (
                    f"the disk holding {target} is full or failing ({e}): free space, "
                    "then start allybot again"
                )
            if "unable to open" in text:
                return (
                    f"cannot open {target}: check that its folder exists and that allybot's "
                    "user may write there, or point DATABASE_URL elsewhere"
                )
            if "not a database" in text:
                return f"{target} is not a SQLite database: point DATABASE_URL at allybot's"
            if "locked" in text:
                return f"{target} is locked by another process: stop it, or use PostgreSQL"
        if network and path is None and isinstance(e, OSError):
            reason = _REASONS.get(type(e).__name__) or e.strerror or str(e) or type(e).__name__
            return (
                f"cannot reach {target} ({reason}): start it, or fix the host and port in "
                "DATABASE_URL"
            )
        if isinstance(e, DBAPIError) and e.orig is not None and path is None:
            code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
            message = str(e.orig).splitlines()[0] if str(e.orig) else type(e.orig).__name__
            if code == DISK_FULL or "no space left" in message.lower():
                return f"{target} has no disk space left: free space, then start allybot again"
            if "does not exist" in message and "database" in message:
                u = make_url(url)
                return f"{target}: {message}: create it (createdb {u.database}) or fix DATABASE_URL"
            if "too many clients" in message or "connection slots" in message:
                return (
                    f"{target} has no free connections ({message}): raise its "
                    "max_connections, or stop what holds them"
                )
            if "password" in message or "role" in message or "authentication" in message:
                return f"{target} refused the login ({message}): fix the user in DATABASE_URL"
    return None


async def open_database(
    url: str | URL, *, must_exist: bool = False, writes: bool = True
) -> Database:
    """The database at the newest schema and, for commands that write, checked that allybot
    can record a request in it; any fault the operator can fix becomes a Refusal.

    `must_exist`: a command that only reads (the report) never creates a database.
    """
    check_sqlite_path(url, must_exist=must_exist)
    if in_memory(url):
        raise Refusal(
            "DATABASE_URL names an in-memory SQLite database, which each allybot process would "
            "have to itself and lose on exit: name a file, such as sqlite:///./allybot.db"
        )
    db = Database(url)
    try:
        if must_exist and not await migrate.current(db):
            raise Refusal(
                f"{where(url)} holds no allybot tables: check DATABASE_URL (it must name the "
                "database allybot serve uses), or run `allybot migrate` first"
            )
        await migrate.upgrade(db)
        if writes:
            await health.probe_write(db)
            await db.gather_statistics()  # SQLite's planner statistics, sampled
    except Refusal:
        await db.dispose()
        raise
    except Exception as exc:
        await db.dispose()
        line = explain(exc, url)
        if line is None:
            raise
        raise Refusal(line) from None
    return db
