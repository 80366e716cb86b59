"""The gate in front of `POST /slack/events`: nothing unsigned gets parsed or logged.

Bolt verifies requests too, but only after it has parsed the body, so junk (broken JSON, a
broken form, a timestamp that is not a number) used to end in a traceback, with the ids the
unverified body claimed in the log line. This check runs on the raw bytes first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier


def is_signed(
    verifier: SignatureVerifier, body: bytes, timestamp: str | None, signature: str | None
) -> bool:
    """True only for a body signed with the app's secret within Slack's five minutes, given
    the request's X-Slack-Request-Timestamp and X-Slack-Signature."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return False
    try:
        return verifier.is_valid(body, timestamp, signature)
    except (ValueError, TypeError, OverflowError):
        return False


def read_body(body: bytes, content_type: str) -> dict[str, Any] | None:
    """A signed body as Bolt's listeners expect it, or None when it cannot be read: JSON when
    said so or when it starts with `{` (as Bolt decides), else a form, whose `payload` field
    (the last one given), if any, is the JSON of an interaction. Only a JSON object is a
    body.

    Read here once rather than by Bolt: Bolt takes any form containing the text "payload"
    anywhere for an interaction and, finding no such field, hands its listeners an empty
    body, so a command saying "payload" (or sent from a channel named so) went unanswered."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json" or text.startswith("{"):
            parsed = json.loads(text)
        else:
            parsed = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" in parsed:
                parsed = json.loads(parsed["payload"])
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return parsed if isinstance(parsed, dict) else None


class ReadRequest(AsyncBoltRequest):
    """Bolt's request for a body read by `read_body`, copies included: Bolt hands a lazy
    listener `to_copyable()`, which it would build again from the raw text with its own
    parse (a command saying "payload" reaching the lazy half of its listener empty)."""

    def to_copyable(self) -> AsyncBoltRequest:
        copy = ReadRequest(body="", query=self.query, headers=self.headers, mode=self.mode)
        copy.raw_body = self.raw_body
        copy.body = self.body
        copy.context = build_async_context(self.context.to_copyable(), self.body)
        return copy


def bolt_request_of(
    text: str, body: dict[str, Any], query: str, headers: Mapping[str, str]
) -> AsyncBoltRequest:
    """Bolt's request for a body read by `read_body`: the raw text kept for Bolt's own
    signature check, the body not parsed a second time."""
    request = ReadRequest(body="", query=query, headers=dict(headers))
    request.raw_body = text
    request.body = body
    request.context = build_async_context(AsyncBoltContext(), body)
    return request
