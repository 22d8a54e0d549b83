"""What a provider module exports: one `ProviderSpec`, so adding a provider is adding a module.

A spec names the provider, its settings (a `ProviderSettings` model read from the environment
and `.env` under its own `env_prefix`, e.g. `APIFRAME_API_KEY`), its capabilities and how to
build a client from those settings. `bot.providers` lists the specs; `bot.config` composes
their settings into the bot's; nothing else knows a provider's variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import AfterValidator, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.providers.base import Capabilities, VideoProvider


def http_url(value: str) -> str:
    """An http(s) root without its trailing slash; anything else is refused."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(http_url)]
"""A setting holding an API root such as `https://api.apiframe.pro`."""


class _RequiredWhenNamed:
    """Marks a credential: a provider named in `VIDEO_PROVIDERS` cannot start without it."""


Credential = Annotated[SecretStr | None, _RequiredWhenNamed()]
"""A provider's key: required when the provider is named, and masked in every log line."""


class ProviderSettings(BaseSettings):
    """One provider's settings. Subclasses set `env_prefix`: field `api_key` of a model with
    prefix `APIFRAME_` is variable `APIFRAME_API_KEY` (and keyword `apiframe_api_key` of
    `bot.config.Settings`)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    @classmethod
    def prefix(cls) -> str:
        """The variables' common prefix, e.g. `APIFRAME_`."""
        return cls.model_config.get("env_prefix", "").upper()

    def missing(self) -> list[str]:
        """The variables of the credentials left unset or empty, e.g. `["APIFRAME_API_KEY"]`."""
        return [
            f"{self.prefix()}{name.upper()}"
            for name, field in type(self).model_fields.items()
            if any(isinstance(mark, _RequiredWhenNamed) for mark in field.metadata)
            and not getattr(self, name)
        ]

    def secrets(self) -> list[str]:
        """Every secret value set, for log masking: any `SecretStr` field is one."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]


class ApiKeySettings(ProviderSettings):
    """What most providers need: an API key and an API root (`<PREFIX>API_KEY`,
    `<PREFIX>BASE_URL`). Subclasses set the prefix and give `base_url` its default."""

    api_key: Credential = None
    base_url: HttpUrl


def reveal(credential: SecretStr | None) -> str:
    """A credential's value for a client; `bot.config` refuses a named provider without it."""
    assert credential is not None
    return credential.get_secret_value()


@dataclass(frozen=True)
class Common:
    """What every provider client is built with, from the bot's own settings."""

    timeout: httpx.Timeout


class ApiKeyClient(Protocol):
    """A provider client made from an API key and a root, as most are."""

    def __call__(self, api_key: str, base_url: str, *, timeout: httpx.Timeout) -> VideoProvider:
        """A client for the API at `base_url`."""
        ...


def with_api_key(client: ApiKeyClient) -> Callable[[ApiKeySettings, Common], VideoProvider]:
    """The build function of a provider whose client takes only its key and root."""

    def build(settings: ApiKeySettings, common: Common) -> VideoProvider:
        return client(reveal(settings.api_key), settings.base_url, timeout=common.timeout)

    return build


S = TypeVar("S", bound=ProviderSettings)


@dataclass(frozen=True)
class ProviderSpec(Generic[S]):
    """Everything the bot needs to know about a provider before it has a client for it."""

    name: str  # as written in VIDEO_PROVIDERS
    settings: type[S]
    capabilities: Capabilities
    build: Callable[[S, Common], VideoProvider]
