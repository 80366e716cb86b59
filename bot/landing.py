"""Did an earlier run's post reach Slack? The check a resumed delivery makes before posting.

Each post a delivery makes carries message metadata naming it (`allybot_post`, with the
step and allybot's id for it). A run that died between Slack's answer and allybot's record
of it leaves no trace in allybot's database, so the run that resumes the delivery reads the
conversation's recent history (`conversations.history` with `include_all_metadata`) for that
metadata before posting again. Only resumed deliveries look: the first run never does.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import slack_error

logger = logging.getLogger(__name__)

EVENT_TYPE = "allybot_post"
MAX_PAGES = 5  # 1,000 messages after the step began: far more than any channel sees
SKEW_SECONDS = 5.0  # Slack's clock and allybot's may differ a little


def metadata(step: str, ref: str) -> dict[str, Any]:
    """The message metadata that names one step of one delivery."""
    return {"event_type": EVENT_TYPE, "event_payload": {"step": step, "ref": ref}}


async def find_post(
    client: AsyncWebClient, *, channel: str, since: datetime, step: str, ref: str
) -> tuple[str, str] | None:
    """The (channel, ts) of the message this step posted, if one is in the conversation
    since `since`; None when there is none or Slack would not say (then the caller posts)."""
    wanted = metadata(step, ref)
    cursor: str | None = None
    try:
        if channel[:1] in ("U", "W"):  # a DM is addressed by user id; history needs its id
            opened = await client.conversations_open(users=channel)
            channel = str(opened["channel"]["id"])
        for _ in range(MAX_PAGES):
            resp = await client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp() - SKEW_SECONDS:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in resp.get("messages") or []:
                if message.get("metadata") == wanted:
                    return channel, str(message["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
    except SlackApiError as exc:
        logger.warning(
            "could not check whether an earlier post landed: %s; posting", slack_error(exc)
        )
    return None
