"""Sign requests the way Slack does, so tests reach allybot through its real signature check."""

from __future__ import annotations

import time

import aiohttp
from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed_headers(
    body: str | bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str = FORM,
) -> dict[str, str]:
    """Headers Slack would send with this body; pass an old timestamp to test replay refusal."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    if signature is None:
        raise ValueError("slack_sdk could not sign this request")
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def guess_content_type(body: str) -> str:
    """Slack sends Events API bodies as JSON and everything else as a form."""
    return JSON if body.lstrip().startswith("{") else FORM


async def signed_post(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    content_type: str | None = None,
) -> tuple[int, str]:
    """POST a signed body to allybot; retry_num mimics Slack redelivering after a timeout."""
    headers = signed_headers(
        body,
        secret,
        timestamp=timestamp,
        content_type=content_type or guess_content_type(body),
    )
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with session.post(url, data=body.encode("utf-8"), headers=headers) as response:
        return response.status, await response.text()
