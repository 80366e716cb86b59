"""Logging as text or one JSON object per line, with the workspace and delivery attached."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy.exc import StatementError

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "allybot_log_context", default=None
)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Attach ids (workspace, delivery, event) to every log line written inside the block."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


# Fields a log call may add with `extra=`, e.g. logger.info("delivery done",
# extra={"outcome": "done"}); kept next to the context ids in both formats.
EXTRA_FIELDS = ("outcome", "status", "reason")


def describe(exc: BaseException) -> str:
    """An exception as a log or the delivery record may show it: its type, and its message
    only where that cannot carry anyone's words (Slack's error code, the SQL statement without
    its parameters). Anything else a message says may quote what a person wrote."""
    from slack_sdk.errors import SlackApiError  # here: the commands that never talk to Slack

    name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    if isinstance(exc, SlackApiError):
        return f"{name}: {exc.response.get('error') if exc.response else 'no response'}"
    if isinstance(exc, StatementError):
        statement = " ".join(str(exc.statement or "").split())[:300]
        orig = type(exc.orig).__qualname__ if exc.orig is not None else "none"
        return f"{name} ({orig}): [SQL: {statement}]"
    if isinstance(exc, (TimeoutError, ConnectionError)) or not str(exc):
        return name
    return f"{name}: (message withheld: it may quote what someone wrote)"


def format_exception(exc: BaseException) -> str:
    """A traceback with every exception of the chain shown as `describe` shows it."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(e.__traceback__))
        + describe(e)
        for e in reversed(chain)
    ]
    return "\n\nThe above exception led to the next one:\n\n".join(parts)


def _scrub(record: logging.LogRecord) -> None:
    """A message that quotes its exception (`error: {e}`, as Bolt writes) quotes `describe`."""
    if not record.exc_info or not record.exc_info[1]:
        return
    exc = record.exc_info[1]
    said = str(exc)
    message = record.getMessage()
    if said and said in message:
        record.msg, record.args = message.replace(said, describe(exc)), None


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        context = dict(_context.get() or {})
        for key in EXTRA_FIELDS:
            if hasattr(record, key):
                context[key] = getattr(record, key)
        record.context = context
        return True


class _SafeExceptions(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # another handler may have cached the unsafe rendering
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        return format_exception(ei[1]) if ei and ei[1] else super().formatException(ei)


class JsonFormatter(_SafeExceptions):
    """One JSON object per line: time, level, logger, message, context ids, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "context", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(_SafeExceptions):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx = getattr(record, "context", {})
        if ctx:
            extras = " ".join(f"{k}={v}" for k, v in ctx.items())
            head, sep, tail = line.partition("\n")
            line = f"{head} [{extras}]{sep}{tail}"
        return line


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Set up the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # Neither format shows a record's process or thread: not looked up for every record.
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library warnings go through the same handler, so a JSON log stays one object per line.
    logging.captureWarnings(True)
    # Bolt and slack_sdk log request bodies at DEBUG; keep them quiet unless asked.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
