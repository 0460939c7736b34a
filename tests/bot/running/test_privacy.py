"""What the logs hold at any level: hashes only, never a user id, a username, a group's title or the salt."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.logs import NEVER_DEBUG, QUIET, setup_logging
from bot.settings import Settings
from tests.bot.conftest import bot_session


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """setup_logging changes the process's logging; put it back for the tests after this one."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in (*NEVER_DEBUG, *QUIET)}
    yield
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


async def test_at_debug_no_user_id_username_group_title_or_salt_is_logged(
    settings: Settings, capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    user_id, username, title = 987654321, "secret_user_name", "Secret Quality Group"
    settings = replace(settings, user_hash_salt="")  # the salt is made and kept in the store
    setup_logging("DEBUG", [settings.token])
    async with bot_session(settings) as harness:
        server = harness.server
        user = server.private_chat(user_id, first_name="Zhang", username=username)
        group = server.group_chat(-100123456, title)
        assert "50万" in (await server.ask(user, user, "区长质量奖的奖金是多少"))["text"]
        await server.send_text(group, user, "/ask 区长质量奖的奖金是多少")
        await server.wait_for_bot_messages(group.id)
        logging.getLogger("retrieval.service").debug("our own DEBUG lines are still written")
        salt = harness.app.bot_data.services.settings.user_hash_salt
    err = capsys.readouterr().err
    assert "our own DEBUG lines are still written" in err
    for secret in (str(user_id), username, title, salt):
        assert secret not in err
