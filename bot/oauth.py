"""Installs in many workspaces: Bolt's OAuth flow on slack_sdk's SQLAlchemy stores.

The stores' tables live in allybot's own database and are created by its Alembic migrations
(their definitions are declared on allybot's metadata in bot/models.py).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import and_, desc, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import i18n
from bot.i18n import N_, _
from bot.logs import log_context
from bot.settings import Settings
from bot.tenancy import installation_key_of

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600

# The bot scopes asked for at install; tests/test_oauth_e2e.py holds them equal to manifest.yml.
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
    "mpim:write",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users.profile:read",
)

OnInstalled = Callable[[Installation], Awaitable[None]]


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's store, plus the lookups allybot needs by its installation key
    (bot/tenancy.py): a workspace's team id, or an org-wide install's enterprise id."""

    async def find_team_bot(self, key: str) -> Bot | None:
        c = self.bots.c
        query = (
            select(self.bots)
            .where(
                and_(
                    c.client_id == self.client_id,
                    or_(
                        c.team_id == key,
                        and_(c.enterprise_id == key, c.is_enterprise_install.is_(True)),
                    ),
                    c.bot_token.is_not(None),
                )
            )
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else SQLAlchemyInstallationStore.build_bot_entity(row)

    async def forget_team(self, key: str, enterprise_id: str | None) -> None:
        """Delete the installation's bot tokens and installations (uninstalled or revoked)."""
        found = await self.find_team_bot(key)
        if found is not None and found.is_enterprise_install:
            await self.async_delete_all(enterprise_id=found.enterprise_id, team_id=None)
            return
        if enterprise_id is None:
            enterprise_id = found.enterprise_id if found else None
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=key)


def installation_store(settings: Settings, engine: AsyncEngine) -> InstallationStore:
    assert settings.slack_client_id is not None
    return InstallationStore(
        client_id=settings.slack_client_id,
        engine=engine,
        logger=logging.getLogger("allybot.installations"),
    )


def oauth_settings(
    settings: Settings,
    engine: AsyncEngine,
    store: InstallationStore,
    on_installed: OnInstalled,
) -> AsyncOAuthSettings:
    """Bolt's OAuth settings: allybot's stores and allybot's own result pages."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        await on_installed(installation)
        with log_context(
            team=installation_key_of(installation), enterprise=installation.enterprise_id
        ):
            logger.info("installed", extra={"outcome": "installed"})
        with i18n.speaking(browser_language(args.request.headers)):
            return page(200, success_page(installation))

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        logger.warning("install refused", extra={"outcome": "refused", "reason": args.reason})
        with i18n.speaking(browser_language(args.request.headers)):
            return page(args.suggested_status_code, failure_page(args.reason))

    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        # Straight on to Slack's consent screen; the state goes in the URL and a cookie.
        install_page_rendering_enabled=False,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS,
            engine=engine,
            logger=logging.getLogger("allybot.oauth_states"),
        ),
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=success, failure=failure),
    )
    # Bolt's authorize reads the workspace's bot from the store on every request; keeping
    # the auth.test answer per token spares a Slack call per request (a reinstall brings a
    # new token, an uninstall removes the bot, so a kept answer is never used wrongly).
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=logging.getLogger("allybot.bolt"),
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        installation_store=store,
        bot_only=True,
        cache_enabled=True,
    )
    return oauth


def browser_language(headers: dict[str, Any]) -> str:
    """The first language the installer's browser asks for (Accept-Language) that allybot
    speaks, else English: nobody is known yet while installing."""
    found = headers.get("accept-language") or [""]
    header = found[0] if isinstance(found, list | tuple) else str(found)
    codes = [part.split(";")[0].strip() for part in str(header).split(",")]
    return i18n.choose(*codes[:10])


def page(status: int, body: str) -> BoltResponse:
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;
line-height:1.5;color:#1d1c1d}}h1{{font-size:1.5em}}code{{background:#f4f4f4;padding:0 .2em}}
</style></head><body><h1>{title}</h1>{body}</body></html>
"""

_FAILURES = {
    "access_denied": N_("The install was cancelled in Slack, so nothing was changed."),
    "invalid_browser": N_(
        "This install link was opened in a different browser from the one that started it, "
        "or it has expired."
    ),
    "invalid_state": N_("This install link has expired or was already used."),
    "invalid_code": N_("Slack did not accept the install code; it may have been used already."),
    "missing_code": N_("Slack did not send an install code."),
    "storage_error": N_("allybot could not save the install. Please try again in a minute."),
}


def success_page(installation: Installation) -> str:
    """Where the installer lands: what happened and the next step."""
    team = html.escape(
        installation.team_name or installation.enterprise_name or _("your workspace")
    )
    home = (
        f"slack://app?team={html.escape(installation_key_of(installation))}"
        f"&amp;id={html.escape(installation.app_id or '')}&amp;tab=home"
    )
    link = f'<a href="{home}">'
    strong = f"<strong>{team}</strong>"
    steps = [
        _(
            "Invite allybot to the channels where people give kudos: {command}.",
            command="<code>/invite @allybot</code>",
        ),
        _(
            "Open {link}allybot's Home tab{end} in Slack to see your allies, promises and kudos.",
            link=link,
            end="</a>",
        ),
        _(
            "Try {kudos} or {help}.",
            kudos="<code>/kudos @someone thanks for …</code>",
            help="<code>/ally help</code>",
        ),
    ]
    body = (
        "<p>"
        + _("allybot is now part of {team}.", team=strong)
        + "</p><p>"
        + html.escape(_("Next:"))
        + "</p><ol>"
        + "".join(f"<li>{step}</li>" for step in steps)
        + "</ol>"
    )
    return _PAGE.format(
        lang=i18n.language(), title=html.escape(_("allybot is installed")), body=body
    )


def failure_page(reason: str) -> str:
    """Where a failed install lands: what went wrong in plain words, and how to try again."""
    why = _(_FAILURES.get(reason, N_("Something went wrong between Slack and allybot.")))
    link = f'<a href="{INSTALL_PATH}">'
    again = _(
        "{link}Start the install again{end}. Once it works, invite allybot to a channel "
        "({command}) and open its Home tab.",
        link=link,
        end="</a>",
        command="<code>/invite @allybot</code>",
    )
    body = f"<p>{html.escape(why)}</p><p>{again}</p>"
    return _PAGE.format(
        lang=i18n.language(), title=html.escape(_("allybot was not installed")), body=body
    )
