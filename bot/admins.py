"""Who may change a workspace's settings and read its report: Slack's admins and owners."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot import directory
from bot.db import Database


async def is_workspace_admin(
    db: Database, client: AsyncWebClient, *, team_id: str, user_id: str, now: bool = False
) -> bool:
    """Slack's `is_admin` / `is_owner`, from a profile no older than a day (users.info), or
    asked of Slack this moment (`now=True`, for saving settings)."""
    if now:
        person = await directory.refresh(db, client, team_id=team_id, user_id=user_id)
    else:
        person = (await directory.lookup(db, client, team_id=team_id, user_ids=[user_id])).get(
            user_id
        )
    return person is not None and not person.deleted and (person.is_admin or person.is_owner)
