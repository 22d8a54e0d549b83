"""The configuration contract: defaults, and one clear line per invalid variable."""

import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from bot.config import ConfigError, Settings, load_settings
from bot.logs import SecretFilter
from bot.providers import REGISTRY, build_providers

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Settings read the environment and ./.env: isolate both."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "APIFRAME_", "VIDEO_", "DATABASE_", "PUBLIC_", "POLL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_with_only_a_token():
    settings = load_settings(telegram_bot_token=TOKEN)
    assert settings.video_providers == ["sandbox"]
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_path == Path("data/bot.db")
    assert settings.poll_interval == 10
    assert settings.job_timeout == 1800
    assert settings.port == 8080
    assert settings.listen_host == "0.0.0.0"
    assert settings.public_url is None
    assert settings.log_level == "INFO"


def test_apiframe_is_the_default_when_its_key_is_set():
    settings = load_settings(telegram_bot_token=TOKEN, apiframe_api_key="k-123456")
    assert settings.video_providers == ["apiframe"]


def test_reads_environment_and_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nPOLL_INTERVAL=2.5\n")
    monkeypatch.setenv("VIDEO_PROVIDERS", "sandbox, apiframe")
    monkeypatch.setenv("APIFRAME_API_KEY", "key-abcdef")
    settings = load_settings()
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.poll_interval == 2.5
    assert settings.video_providers == ["sandbox", "apiframe"]


def test_absolute_database_path():
    settings = load_settings(telegram_bot_token=TOKEN, database_url="sqlite:////srv/bot/jobs.db")
    assert settings.database_path == Path("/srv/bot/jobs.db")


@pytest.mark.parametrize(
    ("overrides", "variable", "words"),
    [
        ({}, "TELEGRAM_BOT_TOKEN", "is required"),
        ({"telegram_bot_token": "nonsense"}, "TELEGRAM_BOT_TOKEN", "bot token"),
        ({"video_providers": "kling9000"}, "VIDEO_PROVIDERS", "unknown provider 'kling9000'"),
        ({"video_providers": "apiframe"}, "APIFRAME_API_KEY", "required"),
        ({"video_providers": "sandbox,sandbox"}, "VIDEO_PROVIDERS", "twice"),
        ({"telegram_api_url": "api.telegram.org"}, "TELEGRAM_API_URL", "http(s) URL"),
        ({"public_url": "ftp://example.com"}, "PUBLIC_URL", "http(s) URL"),
        ({"database_url": "mysql://x/y"}, "DATABASE_URL", "sqlite:///"),
        ({"port": "eighty"}, "PORT", "integer"),
        ({"port": "70000"}, "PORT", "65535"),
        ({"poll_interval": "0"}, "POLL_INTERVAL", "greater than 0"),
        ({"job_timeout": "soon"}, "JOB_TIMEOUT", "number"),
        ({"log_level": "LOUD"}, "LOG_LEVEL", "one of"),
        ({"sentry_dsn": "not-a-dsn"}, "SENTRY_DSN", "https://<key>@<host>/<project>"),
        ({"sentry_dsn": "https://sentry.example/1"}, "SENTRY_DSN", "the DSN Sentry shows"),
    ],
)
def test_invalid_values_name_the_variable(overrides, variable, words):
    if "telegram_bot_token" not in overrides and variable != "TELEGRAM_BOT_TOKEN":
        overrides = {"telegram_bot_token": TOKEN, **overrides}
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert words in str(caught.value)


def test_bad_configuration_exits_2_with_one_line_and_no_traceback(tmp_path):
    env = {"PATH": os.environ["PATH"], "TELEGRAM_BOT_TOKEN": TOKEN, "PORT": "x"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout's code
    command = [sys.executable, "-m", "bot"]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "kling-bot: configuration error: PORT: Input should be a valid integer,"
        " unable to parse string as an integer"
    ]
    assert "Traceback" not in result.stderr


def test_secrets_lists_token_and_keys():
    settings = load_settings(telegram_bot_token=TOKEN, apiframe_api_key="af-secret-key")
    assert set(settings.secrets()) == {TOKEN, TOKEN.split(":")[1], "af-secret-key"}


def test_secrets_list_the_database_password():
    settings = load_settings(
        telegram_bot_token=TOKEN, database_url="postgresql://bot:s3cret-db-pass@db:5432/bot"
    )
    assert "s3cret-db-pass" in settings.secrets()


def test_secrets_list_the_sentry_dsn_and_its_key_alone():
    dsn = "https://0123456789abcdef@o1.ingest.sentry.io/42"
    settings = load_settings(telegram_bot_token=TOKEN, sentry_dsn=dsn)
    assert {dsn, "0123456789abcdef"} <= set(settings.secrets())
    assert load_settings(telegram_bot_token=TOKEN, sentry_dsn="").sentry_dsn is None


def test_metrics_listen():
    webhook = {"public_url": "https://bot.example", "webhook_secret": "s" * 32}
    # Unset: on 127.0.0.1:9100 beside the webhook server, off in long polling (nothing else
    # listens there); set, it listens in either mode (the Docker image sets it for HEALTHCHECK).
    assert load_settings(telegram_bot_token=TOKEN, **webhook).metrics_address == (
        "127.0.0.1",
        9100,
    )
    assert load_settings(telegram_bot_token=TOKEN).metrics_address is None
    polling = load_settings(telegram_bot_token=TOKEN, metrics_listen="127.0.0.1:9200")
    assert polling.metrics_address == ("127.0.0.1", 9200)
    assert load_settings(telegram_bot_token=TOKEN, metrics_listen="off").metrics_address is None
    off = load_settings(telegram_bot_token=TOKEN, metrics_listen="off", **webhook)
    assert off.metrics_address is None
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN, metrics_listen="9100")
    assert caught.value.variable == "METRICS_LISTEN"


def test_id_lists():
    settings = load_settings(
        telegram_bot_token=TOKEN, allowed_user_ids="1, 22,333", admin_user_ids="7"
    )
    assert settings.allowed_user_ids == frozenset({1, 22, 333})
    assert settings.admin_user_ids == frozenset({7})
    assert settings.allowed_chat_ids == frozenset()
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN, allowed_chat_ids="-100123,abc")
    assert caught.value.variable == "ALLOWED_CHAT_IDS"


def test_replica_id_is_new_on_every_start_unless_set():
    first, second = (load_settings(telegram_bot_token=TOKEN) for _ in range(2))
    assert first.replica_id != second.replica_id  # hostname-pid-random
    assert first.lease_seconds == 60
    assert load_settings(telegram_bot_token=TOKEN, replica_id="bot1").replica_id == "bot1"


def test_lease_must_outlast_a_poll_cycle():
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN, poll_interval=10, lease_seconds=10)
    assert caught.value.variable == "LEASE_SECONDS"
    assert "POLL_INTERVAL" in str(caught.value)


def test_unset_lease_follows_a_long_poll_interval():
    settings = load_settings(telegram_bot_token=TOKEN, poll_interval=120)
    assert settings.lease_seconds == 360


def test_provider_clients_use_the_configured_read_and_connect_timeouts():
    settings = load_settings(
        telegram_bot_token=TOKEN,
        apiframe_api_key="key-0123456789",
        provider_timeout=45,
        provider_connect_timeout=2.5,
    )
    provider = build_providers(settings.providers, settings.provider_common)["apiframe"]
    timeout = provider._client.timeout  # type: ignore[attr-defined]
    assert (timeout.read, timeout.connect) == (45, 2.5)


def test_video_downloads_are_strict_unless_origins_are_trusted():
    settings = load_settings(telegram_bot_token=TOKEN)
    assert settings.video_trusted_origins == frozenset()
    assert (settings.video_download_timeout, settings.video_download_min_rate) == (300, 65536)
    trusted = load_settings(
        telegram_bot_token=TOKEN,
        video_trusted_origins="http://10.0.0.5:8080, HTTPS://Media.Example.com/",
    )
    assert trusted.video_trusted_origins == {
        "http://10.0.0.5:8080",
        "https://media.example.com:443",
    }
    for bad in ("file:///srv", "http://10.0.0.5:8080/videos", "10.0.0.5"):
        with pytest.raises(ConfigError) as caught:
            load_settings(telegram_bot_token=TOKEN, video_trusted_origins=bad)
        assert caught.value.variable == "VIDEO_TRUSTED_ORIGINS"
        assert "must be origins like" in str(caught.value)


# --- which settings are secrets: derived from the model, never listed by hand ---------------


def _is_secret(annotation: object) -> bool:
    """Whether a field's type is (or may be) a `SecretStr`."""
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


_SECRET_WORDS = ("key", "secret", "token", "password")


def _settings_models() -> list[tuple[str, type[BaseModel]]]:
    """The bot's settings and every provider's, each with the prefix its keywords take."""
    return [("", Settings)] + [
        (spec.settings.prefix().lower(), spec.settings) for spec in REGISTRY.values()
    ]


def test_every_field_named_like_a_secret_is_a_secret():
    """A new `*_KEY`, `*_SECRET`, `*_TOKEN` or `*_PASSWORD` setting must be a `SecretStr`,
    which is what masking, `repr` and the leak checks go by."""
    for prefix, model in _settings_models():
        for name, field in model.model_fields.items():
            if any(word in name for word in _SECRET_WORDS):
                assert _is_secret(field.annotation), f"{prefix}{name} is not a SecretStr"


def test_every_secret_the_settings_models_declare_is_masked():
    """Each secret field of the bot's settings and of every provider's, set to its own value
    (every provider named, so each is really loaded): every value is in what the logs mask,
    and a log line carrying them all comes out with none."""
    values: dict[str, Any] = {}
    for prefix, model in _settings_models():
        for name, field in model.model_fields.items():
            if _is_secret(field.annotation) and name != "telegram_bot_token":
                values[f"{prefix}{name}"] = f"{prefix}{name}-value-0123456789".replace("_", "-")
    values["sentry_dsn"] = "https://sentry-key-0123456789@sentry.example.org/1"  # its shape
    assert {"kling_secret_key", "kling_access_key", "apiframe_api_key", "webhook_secret"} <= set(
        values
    )
    token = "123456:token-secret-half-0123456789"
    settings = Settings(
        _env_file=None,
        telegram_bot_token=token,
        video_providers=",".join(name for name in REGISTRY if name != "sandbox"),
        public_url="https://bot.example.org",
        **values,
    )
    expected = [*values.values(), token, token.split(":", 1)[1]]
    masked = settings.secrets()
    assert [value for value in expected if value not in masked] == []
    line = SecretFilter(masked).mask(" ".join(expected))
    assert [value for value in expected if value in line] == []
