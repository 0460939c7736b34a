"""A scripted `speechbot chat` session: the real bot through the local server, from a terminal's point of view."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR


@pytest.mark.slow  # a real `speechbot run` subprocess
def test_a_scripted_chat_answers_dev_questions_with_their_passages(tmp_path: Path, built_store: Path) -> None:
    db = tmp_path / "chat.sqlite3"
    shutil.copy(built_store, db)
    script = (
        "\n".join(
            [
                "项目全线质量工作会议上喊出的四句质量口号是什么？",
                "金华市政府质量奖每家获奖企业奖金多少",
                "#1",  # the first passage's context
                "/speeches",
                "@ 首席质量官",
                "/stats",
            ]
        )
        + "\n"
    )
    env = {**os.environ, "SPEECHBOT_DB": str(db), "SPEECHBOT_DATA_DIR": str(DATA_DIR), "TELEGRAM_BOT_TOKEN": ""}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "starting the local harness chat" in done.stderr
    out = done.stdout
    assert "质量责任重于泰山、质量是线的生命、线的灵魂是质量" in out
    assert "每家获奖企业奖金提高到60万元" in out  # from the Traditional file, in the asker's Simplified
    assert "上下文" in out and "001-7.2" in out
    assert "井陉" in out  # the inline answer lists passages
    assert "📊 使用统计" in out and "累计 3" in out  # the local user is an admin; the inline query is logged too


def test_a_message_that_comes_late_is_printed_when_it_arrives(tmp_path: Path, built_store: Path) -> None:
    db = tmp_path / "chat.sqlite3"
    shutil.copy(built_store, db)
    # /reindex answers at once and reports when the rebuild is done, seconds later: by then the next
    # question has been asked and answered, and the report must still show up without another line typed
    script = "/reindex\n金华市政府质量奖每家获奖企业奖金多少\n"
    env = {**os.environ, "SPEECHBOT_DB": str(db), "SPEECHBOT_DATA_DIR": str(DATA_DIR), "TELEGRAM_BOT_TOKEN": ""}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "bot> 正在重建索引" in out
    assert out.index("你> 金华市政府质量奖") < out.index("bot（已更新）> ✅ 索引已重建")
