"""The provider registry: each provider's spec, its variables as documented, and how
`bot.config` composes them (environment, `.env`, keyword arguments, errors, secrets)."""

import os
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.providers import REGISTRY, build_providers
from bot.providers.spec import ProviderSettings

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"
README = Path(__file__).parents[2] / "README.md"
PREFIXES = tuple(spec.settings.prefix() for spec in REGISTRY.values())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Provider settings read the environment and ./.env: isolate both."""
    for name in list(os.environ):
        if name.upper().startswith(("TELEGRAM_", "VIDEO_", *PREFIXES)):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def credentials(name: str) -> dict[str, str]:
    """A value for each credential the provider needs, by variable name."""
    return {variable: f"{variable.lower()}-0123456789" for variable in unset(name).missing()}


def unset(name: str) -> ProviderSettings:
    settings: ProviderSettings = REGISTRY[name].settings()
    return settings


def documented_variables() -> set[str]:
    """Every variable named in the first column of the README's configuration table."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = (line for line in section.splitlines() if line.startswith("| `"))
    first_cells = (row.split("|")[1] for row in rows)
    return {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def test_each_spec_reads_the_variables_named_after_it():
    for name, spec in REGISTRY.items():
        assert spec.name == name
        assert spec.settings.prefix() == f"{name.upper()}_"


def test_every_provider_variable_is_documented_and_every_documented_one_is_read():
    declared = {
        f"{spec.settings.prefix()}{field.upper()}"
        for spec in REGISTRY.values()
        for field in spec.settings.model_fields
    }
    documented = {name for name in documented_variables() if name.startswith(PREFIXES)}
    assert declared == documented


def test_no_setting_of_the_bot_is_spelt_like_a_providers():
    """`Settings` hands every keyword argument with a provider's prefix to that provider."""
    clashing = [name for name in Settings.model_fields if name.upper().startswith(PREFIXES)]
    assert clashing == []


@pytest.mark.parametrize("name", list(REGISTRY))
async def test_each_provider_is_configured_from_its_variables_and_built(monkeypatch, name):
    for variable, value in credentials(name).items():
        monkeypatch.setenv(variable, value)
    settings = load_settings(telegram_bot_token=TOKEN, video_providers=name)
    assert list(settings.providers) == [name]
    provider = build_providers(settings.providers, settings.provider_common)[name]
    try:
        assert provider.name == name
        assert provider.capabilities == REGISTRY[name].capabilities
    finally:
        await provider.aclose()
    assert set(credentials(name).values()) <= set(settings.secrets())


@pytest.mark.parametrize("name", [name for name in REGISTRY if unset(name).missing()])
def test_a_named_provider_without_its_credentials_names_the_first_missing(name):
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN, video_providers=name)
    assert caught.value.variable == unset(name).missing()[0]
    assert str(caught.value).endswith(f"required when {name!r} is a provider")


def test_keyword_arguments_are_spelt_as_the_variables():
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        video_providers="makevid,sandbox",
        makevid_api_key="mv-0123456789",
        makevid_base_url="http://127.0.0.1:9/",
        makevid_poll_path="/v1/{task_id}",
        sandbox_delay=0.5,
    )
    makevid, sandbox = settings.providers.values()
    assert makevid.model_dump(exclude={"api_key"}) == {
        "base_url": "http://127.0.0.1:9",
        "poll_path": "/v1/{task_id}",
    }
    assert sandbox.model_dump() == {"delay": 0.5}
    assert "mv-0123456789" in settings.secrets()


def test_the_environment_wins_over_dotenv_and_no_dotenv_means_none(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nVIDEO_PROVIDERS=kling\nKLING_ACCESS_KEY=ak-from-dotenv\n"
        "KLING_SECRET_KEY=sk-from-dotenv\nKLING_BASE_URL=https://dotenv.example\n"
    )
    monkeypatch.setenv("KLING_BASE_URL", "https://environment.example/")
    kling = load_settings().providers["kling"]
    assert kling.model_dump(exclude={"access_key", "secret_key"}) == {
        "base_url": "https://environment.example"
    }
    assert {"ak-from-dotenv", "sk-from-dotenv"} <= set(load_settings().secrets())
    without = Settings(_env_file=None, telegram_bot_token=TOKEN)
    assert without.video_providers == ["sandbox"]


def test_only_apiframe_credentials_make_apiframe_the_default():
    assert load_settings(telegram_bot_token=TOKEN, aimlapi_api_key="k-1").video_providers == [
        "sandbox"
    ]


def test_an_empty_key_is_no_key(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "")
    assert load_settings(telegram_bot_token=TOKEN).video_providers == ["sandbox"]
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN, video_providers="apiframe")
    assert caught.value.variable == "APIFRAME_API_KEY"


@pytest.mark.parametrize(
    ("overrides", "variable", "words"),
    [
        ({"aimlapi_base_url": "ftp://example.com"}, "AIMLAPI_BASE_URL", "http(s) URL"),
        ({"kling_base_url": "example.com"}, "KLING_BASE_URL", "http(s) URL"),
        ({"makevid_poll_path": "/get/{kind}"}, "MAKEVID_POLL_PATH", "{task_id}"),
        ({"sandbox_delay": "-1"}, "SANDBOX_DELAY", "greater than or equal to 0"),
    ],
)
def test_a_bad_provider_setting_names_its_variable_even_when_unused(overrides, variable, words):
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN, **overrides)
    assert caught.value.variable == variable
    assert words in str(caught.value)
