"""A running bot serves what another process changed: `speechbot add` from a shell while the bot runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.bot.conftest import USER_ID, bot_session
from tests.conftest import DATA_DIR
from tests.storage.test_transactions import NEW_SPEECH, ROOT

QUESTION = "智慧计量监管平台接入多少台计量器具"


@pytest.mark.slow  # a real `speechbot add` process beside the bot
async def test_the_bot_answers_from_a_speech_another_process_added(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for path in DATA_DIR.glob("*.txt"):
        shutil.copy(path, data)
    (tmp_path / "jiliang.txt").write_bytes(NEW_SPEECH)
    async with bot_session(replace(settings, data_dir=data)) as harness:
        server, chat = harness.server, harness.server.private_chat(USER_ID)
        assert "三千二百台" not in (await server.ask(chat, chat, QUESTION))["text"]

        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "--data-dir",
                data,
                "--db",
                settings.db_path,
                "add",
                tmp_path / "jiliang.txt",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert added.returncode == 0, added.stderr[-2000:]

        await server.ask(chat, chat, QUESTION)  # the question that notices the change (answered meanwhile)
        await harness.app.bot_data.services.search.caught_up()  # the new index loaded in the background
        answer = await server.ask(chat, chat, QUESTION)
        assert "全县计量工作会议讲话" in answer["text"] and "三千二百台" in answer["text"]
