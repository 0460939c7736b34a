"""No secret is ever printed: a rejected token at start-up, and whatever passes through the log."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from pathlib import Path

import pytest

from bot.harness.local import local_server
from bot.logs import REDACTED, RedactSecrets

REVOKED = "987654321:REVOKEDrevokedREVOKEDrevoked_secret"


@pytest.mark.slow  # `speechbot run` in a subprocess
async def test_a_rejected_token_ends_start_up_in_one_line_without_the_token(tmp_path: Path) -> None:
    async with local_server() as server:  # it knows another token, so getMe answers 401 as Telegram does
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": REVOKED,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "SPEECHBOT_DB": str(tmp_path / "s.sqlite3"),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    output = (out + err).decode()
    assert process.returncode == 1
    assert REVOKED not in output and REVOKED.split(":")[1] not in output
    assert "Traceback" not in output
    assert err.decode().splitlines()[-1].startswith("speechbot: Telegram refused TELEGRAM_BOT_TOKEN")
    assert [(e.method, e.description) for e in server.errors] == [("getMe", "Unauthorized")]


def test_redact_secrets_cleans_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([REVOKED, "", "hook-secret"]))
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getMe", REVOKED)
        logger.warning("plain message with nothing to hide")
        try:
            raise RuntimeError(f"The token `{REVOKED}` was rejected; secret hook-secret")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert REVOKED not in text and "hook-secret" not in text
    assert text.count(REDACTED) >= 3
    assert f"bot{REDACTED}/getMe" in text and "plain message with nothing to hide" in text
    assert "RuntimeError: The token" in text  # the traceback is kept, only the secret goes


@pytest.mark.parametrize("secrets", [[], [""]])
def test_redact_secrets_with_no_secret_changes_nothing(secrets: list[str]) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s b", ("c",), None)
    assert RedactSecrets(secrets).filter(record) and record.getMessage() == "a c b"
