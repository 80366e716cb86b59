"""Logging as text or one JSON object per line, with the workspace and delivery attached."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

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


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = dict(_context.get() or {})
        for key in EXTRA_FIELDS:
            if hasattr(record, key):
                context[key] = getattr(record, key)
        record.context = context
        return True


class JsonFormatter(logging.Formatter):
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


class TextFormatter(logging.Formatter):
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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library warnings go through the same handler, so a JSON log stays one object per line.
    logging.captureWarnings(True)
    # Bolt and slack_sdk log request bodies at DEBUG; keep them quiet unless asked.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
