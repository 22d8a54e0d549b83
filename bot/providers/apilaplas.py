"""Apilaplas: AI/ML API's early-2025 copy. Its client is `bot.providers.aimlapi`'s, which
knows the two APIs' differences; this module holds what the registry needs."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from bot.providers.aimlapi import ApilaplasProvider
from bot.providers.spec import ApiKeySettings, HttpUrl, ProviderSpec, with_api_key


class ApilaplasSettings(ApiKeySettings):
    """`APILAPLAS_API_KEY`, `APILAPLAS_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="APILAPLAS_")

    base_url: HttpUrl = "https://api.apilaplas.com"


SPEC = ProviderSpec(
    "apilaplas", ApilaplasSettings, ApilaplasProvider.capabilities, with_api_key(ApilaplasProvider)
)
