"""Deployment settings, read once from the environment or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MANIFEST_HINT = "create the Slack app from manifest.yml (see README, 'Create the Slack app')"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Settings(BaseSettings):
    """Exactly the variables of PRODUCT.md's interface contract."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///./allybot.db"
    allybot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO"
    )
    allybot_log_format: Literal["text", "json"] = "text"
    # Where browsers reach this server (https://allybot.example.com): the dashboard's
    # Sign in with Slack redirect URL is built on it. Unset: the request's own address.
    allybot_public_url: str | None = None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xoxb-"):
            raise ValueError(f"must be a bot token starting with xoxb- ({MANIFEST_HINT})")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (Basic Information)")
        return v

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return v if v.endswith("/") else v + "/"

    @field_validator("allybot_public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(
                "must be the http(s) address browsers use, such as https://allybot.example.com"
            )
        return v.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        try:
            url = make_url(v)
        except ArgumentError:
            raise ValueError(
                "is not a database URL; use e.g. sqlite:///./allybot.db or "
                "postgresql://user@host/db"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("must point at SQLite or PostgreSQL")
        return v

    @field_validator("allybot_log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @property
    def oauth_enabled(self) -> bool:
        """Multi-workspace installs are on when the app's client credentials are set."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def dashboard_enabled(self) -> bool:
        """The dashboard signs people in with the OAuth install's client id and secret."""
        return self.oauth_enabled

    @property
    def socket_mode(self) -> bool:
        """`allybot run` connects over Socket Mode when the app-level token is set."""
        return self.slack_app_token is not None

    def require_http(self) -> None:
        """HTTP mode needs the signing secret and one way to get a bot token."""
        problems = []
        if self.slack_signing_secret is None:
            problems.append(
                "SLACK_SIGNING_SECRET is not set (the Signing Secret on the app's Basic "
                "Information page)"
            )
        _raise_all(problems + self._token_source_problems())

    def require_socket(self) -> None:
        """Socket Mode needs the app-level token and one way to get a bot token."""
        problems = []
        if self.slack_app_token is None:
            problems.append(
                "SLACK_APP_TOKEN is not set (an app-level token with the connections:write "
                "scope, Basic Information → App-Level Tokens)"
            )
        _raise_all(problems + self._token_source_problems())

    def require_token(self) -> None:
        """Commands that write to Slack (tick, worker, nudges preview) need a bot token."""
        _raise_all(self._token_source_problems())

    def _token_source_problems(self) -> list[str]:
        either_oauth = self.slack_client_id is not None or self.slack_client_secret is not None
        if self.slack_bot_token is not None and either_oauth:
            return [
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: keep "
                "SLACK_BOT_TOKEN for one workspace, or the client pair for many, not both"
            ]
        if self.slack_bot_token is None and not self.oauth_enabled:
            if either_oauth:
                return [
                    "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together "
                    "(the app's Basic Information page)"
                ]
            return [
                "SLACK_BOT_TOKEN is not set (install the app to your workspace and copy the "
                "Bot User OAuth Token, xoxb-…; or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "for installs in many workspaces)"
            ]
        return []


def _raise_all(problems: list[str]) -> None:
    """Every missing setting in one line, so a deployer fixes them in one go."""
    if not problems:
        return
    hint = f"; {MANIFEST_HINT}" if any("is not set" in p for p in problems) else ""
    raise SettingsError("; ".join(problems) + hint)


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one operator-facing line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "a setting"
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{name} {msg}")
        raise SettingsError("; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
