"""Logging set-up: one format, chatty libraries quieted, and no secret or user data ever written out."""

from __future__ import annotations

import logging

REDACTED = "<token>"

# Libraries that write what users send at DEBUG: python-telegram-bot whole updates (user ids, usernames,
# group titles), httpcore request bodies, aiosqlite every statement with its parameters (the user-hash
# salt's INSERT among them, and with the salt every stored hash can be reversed). Never below INFO,
# whatever LOG_LEVEL says: the project's own loggers follow it.
NEVER_DEBUG = ("telegram", "httpcore", "hpack", "aiosqlite", "asyncio")
# These log every request or job run at INFO: kept to warnings.
QUIET = ("httpx", "apscheduler")


def redact(text: str, secrets: list[str]) -> str:
    """The text with every non-empty secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    """Replaces secrets in every record (httpx logs request URLs, and the Bot API puts the token in them)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(s in text for s in self.secrets):
                record.exc_info, record.exc_text = None, redact(text, self.secrets)
        return True


class NoTraceback(logging.Filter):
    """Drops the traceback of errors whose one line says it all (a rejected token: the stack is PTB's)."""

    def __init__(self, *kinds: type[BaseException]) -> None:
        super().__init__()
        self.kinds = kinds

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], self.kinds):
            record.exc_info, record.exc_text = None, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    from telegram.error import InvalidToken

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(NoTraceback(InvalidToken))
    handler.addFilter(RedactSecrets(secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    floor = max(logging.INFO, logging.getLevelName(level))
    for name in NEVER_DEBUG:
        logging.getLogger(name).setLevel(floor)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, floor))
