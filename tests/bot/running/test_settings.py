"""Settings: environment and .env into one validated object; a bad value stops start-up in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345"


def test_defaults_are_a_corpus_and_a_store_in_the_user_data_directory(data_home: Path) -> None:
    settings = load_settings({}, env_file=None)
    assert settings.data_dir == data_home / "corpus"  # $XDG_DATA_HOME/speechbot, whatever the working directory
    assert settings.db_path == data_home / "speechbot.sqlite3"
    assert (settings.token, settings.admin_ids, settings.results_per_page, settings.shutdown_answer_seconds) == (
        "",
        frozenset(),
        3,
        10,
    )


def test_values_are_read_and_the_environment_wins_over_dot_env(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nADMIN_IDS=1, 2\nRESULTS_PER_PAGE=4\n", encoding="utf-8")
    settings = load_settings({"RESULTS_PER_PAGE": "5", "SPEECHBOT_DB": "/srv/s.sqlite3"}, env_file=env_file)
    assert settings.token == TOKEN and settings.admin_ids == frozenset({1, 2})
    assert settings.results_per_page == 5 and settings.db_path == Path("/srv/s.sqlite3")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN is malformed"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL must be an http(s) URL"),
        ({"WEBHOOK_URL": "http://bot.example.org/x"}, "WEBHOOK_URL must start with https://"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"ADMIN_IDS": "1,alice"}, "ADMIN_IDS must be comma-separated"),
        ({"RESULTS_PER_PAGE": "9"}, "RESULTS_PER_PAGE must be between 1 and 5"),
        ({"WEBHOOK_PORT": "http"}, "WEBHOOK_PORT must be a whole number"),
        ({"MAX_UPLOAD_BYTES": str(20 * 1024 * 1024)}, "MAX_UPLOAD_BYTES must be between 1 and 20000000"),
        ({"SHUTDOWN_ANSWER_SECONDS": "60"}, "SHUTDOWN_ANSWER_SECONDS must be between 0 and 20"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_it(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env, env_file=None)
    assert str(refused.value).startswith(names) and "\n" not in str(refused.value)


def test_secrets_stay_out_of_the_repr_and_out_of_error_messages() -> None:
    settings = Settings(token=TOKEN, webhook_secret="hook-secret", user_hash_salt="salty")
    assert not {TOKEN, "hook-secret", "salty"} & set(repr(settings).replace(",", " ").replace("'", " ").split())
    assert TOKEN not in repr(settings)
    with pytest.raises(SettingsError) as refused:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN + " x"}, env_file=None)
    assert "AAEabc" not in str(refused.value)
