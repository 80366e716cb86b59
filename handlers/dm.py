"""How a handler DMs someone as part of its reply (the scheduler's DMs go through its sender)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot import landing


async def send_dm(
    client: AsyncWebClient,
    *,
    user_id: str,
    text: str,
    blocks: list[Block],
    ref: str | None = None,
    resuming_since: datetime | None = None,
) -> dict[str, str]:
    """Post into the person's DM with allybot (Slack opens it for a user id); returns where
    the message is (`channel`, `ts`).

    `ref` names the message (in its metadata) so that a resumed delivery, passing
    `resuming_since`, finds it in the DM instead of sending it twice.
    """
    if ref is not None and resuming_since is not None:
        found = await landing.find_post(
            client, channel=user_id, since=resuming_since, step="dm", ref=ref
        )
        if found is not None:
            return {"channel": found[0], "ts": found[1]}
    resp = await client.chat_postMessage(
        channel=user_id,
        text=text,
        blocks=blocks,
        unfurl_links=False,
        unfurl_media=False,
        metadata=landing.metadata("dm", ref) if ref is not None else None,
    )
    return {"channel": str(resp.get("channel") or ""), "ts": str(resp.get("ts") or "")}
