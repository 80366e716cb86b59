"""Slack Web API clients: retries on 429/5xx/connection errors, counted in /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.metrics import SLACK_CALLS, SLACK_ERRORS
from bot.named import NameSource, show
from bot.oauth import InstallationStore
from bot.settings import Settings


def retry_handlers(interval: RetryIntervalCalculator | None = None) -> list[AsyncRetryHandler]:
    """Honour Retry-After on 429 and back off on 5xx and dropped connections, a few times."""
    interval = interval or BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        AsyncServerErrorRetryHandler(max_retry_count=3, interval_calculator=interval),
        AsyncConnectionErrorRetryHandler(max_retry_count=3, interval_calculator=interval),
    ]


# Set for the work on one delivery (bot.inbox): awaited before each Web API call made in it,
# so a run that outlived its lease stops before Slack hears from it what the process that took
# the delivery over says too. It raises to stop the run.
BEFORE_CALL: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "before_slack_call", default=None
)


class InstrumentedWebClient(AsyncWebClient):
    """An AsyncWebClient that counts every call and every error by method, and shows the
    people a text names (`<~U…>`) by their names in the workspace it acts for."""

    team_id: str | None = None
    names: NameSource | None = None

    async def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> AsyncSlackResponse:
        guard = BEFORE_CALL.get()
        if guard is not None:
            await guard()
        for part in ("json", "params", "data"):
            if kwargs.get(part):
                kwargs[part] = await show(kwargs[part], team_id=self.team_id, source=self.names)
        SLACK_CALLS.labels(api_method).inc()
        try:
            return await super().api_call(api_method, *args, **kwargs)
        except SlackApiError as exc:
            SLACK_ERRORS.labels(api_method, slack_error(exc)).inc()
            raise
        except Exception as exc:
            SLACK_ERRORS.labels(api_method, type(exc).__name__).inc()
            raise


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code from a failed call; `http_503` when the body was not JSON
    (a server error page after the retries ran out)."""
    data = exc.response.data
    if isinstance(data, dict):
        return str(data.get("error", "unknown"))
    return f"http_{exc.response.status_code}"


class SlackClients:
    """Hands out a Web API client for a workspace, sharing one HTTP connection pool."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry_interval: RetryIntervalCalculator | None = None,
        installations: InstallationStore | None = None,
    ) -> None:
        self.settings = settings
        self.retry_interval = retry_interval
        # Set in OAuth mode: each workspace's own bot token, from its installation.
        self.installations = installations
        # Where a workspace's names come from (bot.named.from_database, set by create_app).
        self.names: NameSource | None = None
        self._session: aiohttp.ClientSession | None = None
        self._by_token: dict[tuple[str, str | None], AsyncWebClient] = {}

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100), timeout=aiohttp.ClientTimeout(total=30)
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def client(self, token: str | None, team_id: str | None = None) -> AsyncWebClient:
        """A client for this token acting in this workspace, built once and kept."""
        key = (token or "", team_id)
        if key not in self._by_token:
            client = InstrumentedWebClient(
                token=token,
                base_url=self.settings.slack_api_url,
                session=self._session,
                retry_handlers=retry_handlers(self.retry_interval),
            )
            client.team_id = team_id
            self._by_token[key] = client
        found = self._by_token[key]
        if isinstance(found, InstrumentedWebClient):
            found.names = self.names
        return found

    async def show(self, team_id: str, value: Any) -> Any:
        """What is about to reach Slack outside a client (a response_url answer), with the
        people it names shown by name (bot.named)."""
        return await show(value, team_id=team_id, source=self.names)

    async def token_for(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        """The bot token that acts in this workspace: its installation's in OAuth mode (read
        each time, so a reinstall or an uninstall on another replica counts at once)."""
        if self.installations is not None:
            bot = await self.installations.find_team_bot(team_id)
            return bot.bot_token if bot is not None else None
        token = self.settings.slack_bot_token
        return token.get_secret_value() if token is not None else None

    async def uninstall(self, team_id: str, enterprise_id: str | None = None) -> None:
        """Forget a workspace's tokens after it removed allybot (OAuth mode)."""
        if self.installations is not None:
            await self.installations.forget_team(team_id, enterprise_id)

    async def for_team(self, team_id: str, enterprise_id: str | None = None) -> AsyncWebClient:
        return self.client(await self.token_for(team_id, enterprise_id), team_id)

    def webhook(self, url: str) -> AsyncWebhookClient:
        """A sender for a response_url (private replies to slash commands and buttons)."""
        return AsyncWebhookClient(
            url, session=self._session, retry_handlers=retry_handlers(self.retry_interval)
        )
