"""Apilaplas: AI/ML API's early-2025 copy. Its client is `bot.providers.aimlapi`'s, which
knows the two APIs' differences; this module holds what the registry needs."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from bot.providers.aimlapi import ApilaplasProvider
from bot.providers.spec import Common, Credential, HttpUrl, ProviderSettings, ProviderSpec, reveal


class ApilaplasSettings(ProviderSettings):
    """`APILAPLAS_API_KEY`, `APILAPLAS_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="APILAPLAS_")

    api_key: Credential = None
    base_url: HttpUrl = "https://api.apilaplas.com"


def _build(settings: ApilaplasSettings, common: Common) -> ApilaplasProvider:
    return ApilaplasProvider(reveal(settings.api_key), settings.base_url, timeout=common.timeout)


SPEC = ProviderSpec("apilaplas", ApilaplasSettings, ApilaplasProvider.capabilities, _build)
