"""Video providers: build the ones named in `VIDEO_PROVIDERS`, in failover order."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from bot.config import Settings
from bot.providers.aimlapi import AimlapiProvider, ApilaplasProvider
from bot.providers.apiframe import ApiframeProvider
from bot.providers.base import VideoProvider
from bot.providers.kling import KlingProvider
from bot.providers.makevid import MakevidProvider
from bot.providers.sandbox import SandboxProvider


def build_providers(settings: Settings) -> dict[str, VideoProvider]:
    """One instance per configured provider; dict order is the failover order."""
    providers: dict[str, VideoProvider] = {}
    timeout = httpx.Timeout(settings.provider_timeout, connect=settings.provider_connect_timeout)
    for name in settings.video_providers:
        if name == "sandbox":
            providers[name] = SandboxProvider(delay=settings.sandbox_delay)
        elif name == "apiframe":
            providers[name] = ApiframeProvider(
                _secret(settings.apiframe_api_key), settings.apiframe_base_url, timeout=timeout
            )
        elif name == "aimlapi":
            providers[name] = AimlapiProvider(
                _secret(settings.aimlapi_api_key), settings.aimlapi_base_url, timeout=timeout
            )
        elif name == "makevid":
            providers[name] = MakevidProvider(
                _secret(settings.makevid_api_key),
                settings.makevid_base_url,
                poll_path=settings.makevid_poll_path,
                timeout=timeout,
            )
        elif name == "kling":
            providers[name] = KlingProvider(
                _secret(settings.kling_access_key),
                _secret(settings.kling_secret_key),
                settings.kling_base_url,
                timeout=timeout,
            )
        elif name == "apilaplas":
            providers[name] = ApilaplasProvider(
                _secret(settings.apilaplas_api_key), settings.apilaplas_base_url, timeout=timeout
            )
        else:  # Settings refuses unknown names; this guards a new name added in one place only
            raise ValueError(f"no implementation for provider {name!r}")
    return providers


def _secret(value: SecretStr | None) -> str:
    assert value is not None  # Settings refuses a provider named without its key
    return value.get_secret_value()
