"""How a handler DMs someone as part of its reply (the scheduler's DMs go through its sender)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse


async def send_dm(
    client: AsyncWebClient, *, user_id: str, text: str, blocks: list[Block]
) -> AsyncSlackResponse:
    """Post into the person's DM with allybot (Slack opens it for a user id)."""
    return await client.chat_postMessage(
        channel=user_id, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
    )
