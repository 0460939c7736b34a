"""A scripted `speechbot chat` session: the real bot through the local server, from a terminal's point of view."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
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
    assert " INFO " not in done.stderr + done.stdout  # the conversation holds no log lines
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
    # question has been asked and answered, and the report must still show up without another line typed.
    # The input stays open until it has (as a reader who has not pressed Ctrl-D yet).
    env = {**os.environ, "SPEECHBOT_DB": str(db), "SPEECHBOT_DATA_DIR": str(DATA_DIR), "TELEGRAM_BOT_TOKEN": ""}
    chat = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert chat.stdin is not None and chat.stdout is not None
    seen = bytearray()
    try:
        chat.stdin.write("/reindex\n金华市政府质量奖每家获奖企业奖金多少\n".encode())
        chat.stdin.flush()
        _read_until(chat.stdout.fileno(), "索引已重建".encode(), seen, timeout=300)
        chat.stdin.close()
        assert chat.wait(timeout=60) == 0
    finally:
        if chat.poll() is None:
            chat.kill()
        chat.stdout.close()
    out = bytes(seen).decode(errors="replace")
    assert "bot> 正在重建索引" in out
    assert out.index("你> 金华市政府质量奖") < out.index("👎") < out.index("bot（已更新）> ✅ 索引已重建")


def _read_until(fd: int, wanted: bytes, seen: bytearray, timeout: float = 90) -> None:
    """Terminal output until `wanted` has appeared past what was seen, or the terminal closes."""
    start, deadline = len(seen), time.monotonic() + timeout
    while wanted not in seen[start:]:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no {wanted!r} within {timeout} s: {bytes(seen[-500:]).decode(errors='replace')}"
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed: the chat has ended
            return
        if not chunk:
            return
        seen += chunk


@pytest.mark.slow  # a real `speechbot chat` subprocess on a terminal
def test_on_a_terminal_the_chat_prompts_once_and_ends_on_ctrl_d(tmp_path: Path, built_store: Path) -> None:
    db = tmp_path / "chat.sqlite3"
    shutil.copy(built_store, db)
    env = {**os.environ, "SPEECHBOT_DB": str(db), "SPEECHBOT_DATA_DIR": str(DATA_DIR), "TELEGRAM_BOT_TOKEN": ""}
    main, terminal = pty.openpty()
    chat = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat"], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    seen = bytearray()
    try:
        _read_until(main, "你> ".encode(), seen)
        for question in ("区长质量奖的奖金是多少", "质量强市"):
            os.write(main, f"{question}\n".encode())
            _read_until(main, "👎".encode(), seen)
            _read_until(main, "你> ".encode(), seen)
        os.write(main, b"\x04")  # Ctrl-D on an empty line
        assert chat.wait(timeout=60) == 0
        _read_until(main, b"\0", seen, timeout=5)  # whatever is left
    finally:
        if chat.poll() is None:
            chat.kill()
        os.close(main)
    text = bytes(seen).decode(errors="replace")
    assert "答：" in text and text.count("你> ") >= 3
    assert "你> 你> " not in text.replace("\r", "").replace("\x1b[K", "") and " INFO " not in text
