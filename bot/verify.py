"""The gate in front of `POST /slack/events`: nothing unsigned gets parsed or logged.

Bolt verifies requests too, but only after it has parsed the body, so junk (broken JSON, a
broken form, a timestamp that is not a number) used to end in a traceback, with the ids the
unverified body claimed in the log line. This check runs on the raw bytes first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier


def is_signed(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    """True only for a body signed with the app's secret within Slack's five minutes."""
    stamp = next((v for k, v in headers.items() if k.lower() == "x-slack-request-timestamp"), "")
    if not stamp.isascii() or not stamp.isdigit():
        return False
    try:
        return verifier.is_valid_request(body, dict(headers))
    except (ValueError, TypeError, OverflowError):
        return False


def is_readable(body: bytes, content_type: str) -> bool:
    """A signed body Bolt can parse: JSON, or a form whose `payload` (if any) is JSON."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            return isinstance(json.loads(text), dict)
        form = parse_qs(text, keep_blank_values=True)
        if "payload" in form:
            return isinstance(json.loads(form["payload"][0]), dict)
        return True
    except (UnicodeDecodeError, ValueError):
        return False
