"""Which installation of allybot a Slack request is for: the key everything is kept under.

In a Slack Connect channel the envelope's `team_id` can be the other organisation's
workspace; the workspace that installed allybot is the one Slack names in the envelope's
`authorizations` (for views, `view.app_installed_team_id`), which Bolt puts in its context.
An Enterprise Grid org-wide install (`is_enterprise_install`) is one allybot for the whole
org: its key is the enterprise id, whichever of the org's workspaces an event comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: the commands that never talk to Slack need not load Bolt
    from slack_bolt.context.async_context import AsyncBoltContext
    from slack_sdk.oauth.installation_store import Installation


def installation_key(context: AsyncBoltContext, body: Mapping[str, Any]) -> str:
    """The installation a request is for, from Bolt's context (authorizations, authorize)."""
    if context.is_enterprise_install and context.enterprise_id:
        return str(context.enterprise_id)
    if context.team_id:
        return str(context.team_id)
    result = context.authorize_result
    if result is not None and result.team_id:
        return str(result.team_id)
    return team_in_payload(body)


def installation_key_of(installation: Installation) -> str:
    """The same key for an installation Slack's OAuth flow just handed over."""
    if installation.is_enterprise_install and installation.enterprise_id:
        return str(installation.enterprise_id)
    return str(installation.team_id or installation.enterprise_id or "")


def team_in_payload(body: Mapping[str, Any]) -> str:
    """The workspace a payload names when there is no Bolt context (never for a request
    Bolt dispatched: those use `installation_key`)."""
    team = body.get("team_id") or body.get("team") or (body.get("user") or {}).get("team_id")
    if isinstance(team, dict):
        team = team.get("id")
    return str(team or "")


def is_external(user: Mapping[str, Any], key: str) -> bool:
    """Whether a users.info `user` belongs to another organisation than installation `key`
    (a Slack Connect member), as Slack presents them: their own team, not one of ours."""
    if user.get("is_stranger"):
        return True
    if user.get("team_id") == key:
        return False
    grid = user.get("enterprise_user") or {}
    if grid.get("enterprise_id") == key or key in (grid.get("teams") or []):
        return False
    return bool(user.get("team_id"))
