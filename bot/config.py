"""The configuration contract: environment variables (and `.env`) read once at start.

The variable names are fixed because operators' deployments depend on them. Any invalid value
stops the bot with one line naming the variable (see `load_settings`). The bot's own settings
are declared here; each provider's (`APIFRAME_API_KEY`, ...) in its module's `ProviderSettings`,
composed here from `bot.providers.REGISTRY`.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.sources import ENV_FILE_SENTINEL, DotenvType

from bot import billing
from bot.downloads import origin_of
from bot.providers import REGISTRY
from bot.providers.spec import Common, HttpUrl, ProviderSettings, ProviderSpec, http_url

#: `VIDEO_PROVIDERS` left unset: this provider if its credentials are set, else the fallback.
_DEFAULT_PROVIDER, _FALLBACK_PROVIDER = "apiframe", "sandbox"

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # Telegram allows 1-256 of these
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """Invalid configuration; `str()` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def default_replica_id() -> str:
    """`<hostname>-<pid>-<random>`: unique among running processes, new on every start."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Settings(BaseSettings):
    """Every setting the bot reads. Field `foo_bar` is environment variable `FOO_BAR`; each
    registered provider's settings come along (keyword `apiframe_api_key` is its `api_key`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr
    telegram_api_url: HttpUrl = "https://api.telegram.org"
    video_providers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    provider_timeout: float = Field(default=30.0, gt=0)
    provider_connect_timeout: float = Field(default=10.0, gt=0)
    submit_attempts: int = Field(default=3, ge=1, le=10)
    submit_backoff: float = Field(default=2.0, ge=0)

    database_url: str = "sqlite:///data/bot.db"
    public_url: str | None = None
    webhook_secret: SecretStr | None = None
    telegram_webhook_path: str = "/telegram"
    drop_pending_updates: bool = False
    callback_poll_interval: float = Field(default=60.0, gt=0)
    shutdown_grace: float = Field(default=30.0, ge=0)
    listen_host: str = "0.0.0.0"  # noqa: S104 - the web server is meant to be reachable
    port: int = Field(default=8080, ge=1, le=65535)
    replica_id: str = Field(default_factory=default_replica_id, min_length=1, max_length=200)
    lease_seconds: float = Field(default=60.0, gt=0)
    database_wait: float = Field(default=60.0, ge=0)
    # PostgreSQL's password apart from DATABASE_URL, so it needs no URL escaping ("/", "@",
    # "#" or "+" in a URL silently point the bot elsewhere); it wins over one in the URL.
    database_password: SecretStr | None = None
    http_header_timeout: float = Field(default=10.0, gt=0)
    http_max_connections: int = Field(default=100, ge=2)
    metrics_listen: str | None = None  # unset: 127.0.0.1:9100 in webhook mode, off in polling

    poll_interval: float = Field(default=10.0, gt=0)
    job_timeout: float = Field(default=1800.0, gt=0)
    reconcile_timeout: float = Field(default=600.0, gt=0)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    sentry_dsn: SecretStr | None = None  # errors to Sentry, scrubbed of every secret; off unset

    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    allowed_chat_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    low_balance_alert: float | None = Field(default=None, ge=0)
    max_active_jobs_per_user: int = Field(default=3, ge=1)
    daily_jobs_per_user: int = Field(default=20, ge=1)
    request_cooldown: float = Field(default=3.0, ge=0)

    # Credits and Telegram Stars (see `bot.billing`): off keeps videos free.
    billing: Literal["off", "stars"] = "off"
    prices: str = ""  # model:mode:duration=credits rules over `bot.billing.DEFAULT_PRICES`
    credit_packs: str = "100:50,500:200"  # credits:stars
    welcome_credits: int = Field(default=0, ge=0, le=1_000_000)
    free_credits_daily: int = Field(default=0, ge=0, le=1_000_000)
    bill_admins: bool = False

    video_trusted_origins: Annotated[frozenset[str], NoDecode] = frozenset()
    video_download_timeout: float = Field(default=300.0, gt=0)
    video_download_min_rate: float = Field(default=64 * 1024, ge=0)

    status_edit_interval: float = Field(default=3.0, ge=0)
    share_credit: bool = False  # "made with @bot" under videos shared through inline mode
    media_link_ttl: float = Field(default=3600.0, gt=0)

    _provider_settings: dict[str, ProviderSettings] = PrivateAttr(default_factory=dict)

    def __init__(self, _env_file: DotenvType | None = ENV_FILE_SENTINEL, **values: Any) -> None:
        # The bot's own settings first, then each provider's from the same environment and
        # `.env`, with the keyword arguments spelt with its prefix (`apiframe_api_key=...`).
        keywords = {name: _take_keywords(spec, values) for name, spec in REGISTRY.items()}
        super().__init__(_env_file=_env_file, **values)
        own = _env_file is ENV_FILE_SENTINEL
        env_file = self.model_config.get("env_file") if own else _env_file
        self._provider_settings = {
            name: _load_provider(spec, env_file, keywords[name]) for name, spec in REGISTRY.items()
        }
        self.video_providers = _chosen_providers(self.video_providers, self._provider_settings)

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("does not look like a bot token (expected <digits>:<secret>)")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        return http_url(value) if value else None

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET_RE.match(value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("sentry_dsn")
    @classmethod
    def _check_sentry_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname:
            raise ValueError("must be the DSN Sentry shows, like https://<key>@<host>/<project>")
        return value

    @field_validator("telegram_webhook_path")
    @classmethod
    def _check_webhook_path(cls, value: str) -> str:
        if not re.match(r"^/[A-Za-z0-9_/-]*$", value):
            raise ValueError("must be a path like /telegram")
        return value

    @field_validator("prices")
    @classmethod
    def _check_prices(cls, value: str) -> str:
        billing.parse_prices(value)  # ValueError names the rule
        return value

    @field_validator("credit_packs")
    @classmethod
    def _check_packs(cls, value: str) -> str:
        billing.parse_packs(value)
        return value

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
            except ValueError:
                raise ValueError("must be comma-separated numeric Telegram ids") from None
        return value

    @field_validator("video_trusted_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        origins = set()
        for part in (p.strip() for p in value.split(",")):
            origin = origin_of(part) if part else None
            if part and (origin is None or urlsplit(part).path not in ("", "/")):
                raise ValueError(f"must be origins like https://cdn.example.com:8443, got {part!r}")
            if origin is not None:
                origins.add(origin)
        return frozenset(origins)

    @field_validator("video_providers", mode="before")
    @classmethod
    def _split_providers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip().lower() for name in value.split(",") if name.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value.startswith(("postgresql://", "postgres://")) and urlsplit(value).hostname:
            return value
        if not value.startswith("sqlite:///") or value == "sqlite:///":
            raise ValueError(
                "must look like sqlite:///relative/path.db, sqlite:////abs/path.db"
                " or postgresql://user:pass@host:port/db"
            )
        return value

    @field_validator("metrics_listen")
    @classmethod
    def _check_metrics_listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.lower() in ("", "off"):
            return ""
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError("must be host:port, e.g. 127.0.0.1:9100, or off")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

    @model_validator(mode="after")
    def _require_webhook_secret(self) -> Settings:
        if self.public_url and self.webhook_secret is None:
            raise ConfigError(
                "WEBHOOK_SECRET", "required when PUBLIC_URL is set (webhook mode); 16+ characters"
            )
        return self

    @model_validator(mode="after")
    def _check_lease(self) -> Settings:
        # The poll loop renews its leases once a cycle: a shorter lease would lapse in between
        # and let another replica take the jobs over while this one still polls them. Unset,
        # the lease follows a long POLL_INTERVAL instead of refusing to start.
        if "lease_seconds" not in self.model_fields_set:
            self.lease_seconds = max(self.lease_seconds, 3 * self.poll_interval)
        elif self.lease_seconds <= self.poll_interval:
            raise ConfigError(
                "LEASE_SECONDS",
                f"must be longer than POLL_INTERVAL ({self.poll_interval:g} s)",
            )
        return self

    @property
    def database_path(self) -> Path:
        """`sqlite:///data/bot.db` -> data/bot.db; `sqlite:////srv/bot.db` -> /srv/bot.db."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def webhook_mode(self) -> bool:
        """Telegram pushes updates to our web server instead of being long-polled."""
        return self.public_url is not None

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """`METRICS_LISTEN` as (host, port); None when off. Unset, it is 127.0.0.1:9100 in
        webhook mode and off in long polling (where nothing else listens)."""
        if self.metrics_listen is None:
            return ("127.0.0.1", 9100) if self.webhook_mode else None
        if not self.metrics_listen:
            return None
        host, _, port = self.metrics_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def providers(self) -> dict[str, ProviderSettings]:
        """The settings of each provider in `VIDEO_PROVIDERS`, in failover order."""
        return {name: self._provider_settings[name] for name in self.video_providers}

    @property
    def provider_common(self) -> Common:
        """What every provider client is built with."""
        return Common(httpx.Timeout(self.provider_timeout, connect=self.provider_connect_timeout))

    def secrets(self) -> list[str]:
        """Every configured secret value, for log masking and leak checks: each `SecretStr`
        setting, every provider's included, the token's secret half and the database
        password too, since either may show up on its own."""
        values = (getattr(self, name) for name in type(self).model_fields)
        found = [value.get_secret_value() for value in values if isinstance(value, SecretStr)]
        for provider in self._provider_settings.values():
            found.extend(provider.secrets())
        found.append(self.telegram_bot_token.get_secret_value().split(":", 1)[1])
        password = urlsplit(self.database_url).password
        if password:
            found.append(password)
        if self.sentry_dsn:  # its key alone lets anyone send events to the operator's project
            found.append(urlsplit(self.sentry_dsn.get_secret_value()).username or "")
        return found


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning any problem into a `ConfigError` naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError, prefix: str = "") -> ConfigError:
    """The first problem of a validation, naming its variable (`prefix` + the field)."""
    first = exc.errors()[0]
    variable = f"{prefix}{first['loc'][0]}".upper() if first["loc"] else "configuration"
    problem = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        problem = "is required"
    return ConfigError(variable, problem)


def _take_keywords(spec: ProviderSpec[Any], values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments spelt with the provider's prefix, taken out of `values`, by
    field name: `apiframe_api_key` is the APIFRAME settings' `api_key`."""
    prefix = spec.settings.prefix().lower()
    mine = [key for key in values if key.lower().startswith(prefix)]
    return {key[len(prefix) :]: values.pop(key) for key in mine}


def _load_provider(
    spec: ProviderSpec[Any], env_file: DotenvType | None, keywords: dict[str, Any]
) -> ProviderSettings:
    """A provider's settings from the environment and `env_file`, under `keywords`."""
    try:
        settings: ProviderSettings = spec.settings(_env_file=env_file, **keywords)
        return settings
    except ValidationError as exc:
        raise _config_error(exc, spec.settings.prefix()) from None


def _chosen_providers(named: list[str], loaded: dict[str, ProviderSettings]) -> list[str]:
    """`VIDEO_PROVIDERS` checked against the registry, each named provider's credentials set;
    when unset, the default provider if its credentials are set, else the fallback."""
    if not named:
        default_ready = not loaded[_DEFAULT_PROVIDER].missing()
        named = [_DEFAULT_PROVIDER if default_ready else _FALLBACK_PROVIDER]
    for name in named:
        if name not in REGISTRY:
            known = ", ".join(REGISTRY)
            raise ConfigError("VIDEO_PROVIDERS", f"unknown provider {name!r} (known: {known})")
        for variable in loaded[name].missing():
            raise ConfigError(variable, f"required when {name!r} is a provider")
    if len(set(named)) != len(named):
        raise ConfigError("VIDEO_PROVIDERS", "names a provider twice")
    return named
