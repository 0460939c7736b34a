"""Admins grow the corpus from Telegram; bad uploads and non-admins change nothing."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import docx
import pytest

from bot.settings import Settings
from tests.bot.asking.test_conversation import buttons
from tests.bot.conftest import ADMIN_ID, USER_ID, Harness, bot_session
from tests.conftest import DATA_DIR
from tests.hostile import broken_xml_docx, spaces_bomb

NEW_SPEECH = (
    "全县计量工作会议讲话\n同志们：\n"
    "今年我们要在全县推广智慧计量监管平台，对加油机、电子秤实施远程在线监测，"
    "计划年内接入计量器具三千二百台，实现强制检定全覆盖。\n"
)


@pytest.fixture
async def admin_bot(settings: Settings, tmp_path: Path) -> AsyncIterator[Harness]:
    data = tmp_path / "data"
    data.mkdir()
    for path in DATA_DIR.glob("*.txt"):
        shutil.copy(path, data)
    async with bot_session(replace(settings, data_dir=data, max_upload_bytes=200_000)) as harness:
        yield harness


def corpus_state(harness: Harness) -> tuple[list[str], int]:
    files = sorted(p.relative_to(harness.settings.data_dir).as_posix() for p in harness.settings.data_dir.rglob("*"))
    return files, len(harness.app.bot_data.services.search.index)


async def upload(harness: Harness, user_id: int, name: str, data: bytes) -> str:
    server = harness.server
    chat = server.private_chat(user_id)
    await server.send_document(chat, chat, name, data)
    first = (await server.wait_for_bot_messages(chat.id))[0]
    if first["text"].startswith("正在"):
        return (await server.wait_for_edit(chat.id, first["message_id"], timeout=60))["text"]
    return first["text"]


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00" * 50, "读不出文字"),
        ("empty.txt", b"", "读不出文字"),
        ("big.txt", "质量".encode() * 150_000, "文件太大"),
        ("latin.txt", bytes(range(128, 256)) * 20, "读不出文字"),
        ("../../x.txt", NEW_SPEECH.encode(), "文件名不安全"),
        ("..\\evil.txt", NEW_SPEECH.encode(), "文件名不安全"),
        ("003_43aee00df7e627f5.txt", NEW_SPEECH.encode(), "已有同名文件"),
        ("copy-of-003.txt", (DATA_DIR / "003_43aee00df7e627f5.txt").read_bytes(), "语料中已有这篇讲话"),
        ("slides.pdf", b"%PDF-1.4 ...", "只接受"),
    ],
    ids=[
        "binary",
        "empty",
        "too-large",
        "undecodable",
        "traversal",
        "windows-traversal",
        "existing-name",
        "duplicate",
        "unsupported",
    ],
)
async def test_bad_uploads_are_refused_and_change_nothing(
    admin_bot: Harness, name: str, data: bytes, says: str
) -> None:
    before = corpus_state(admin_bot)
    reply = await upload(admin_bot, ADMIN_ID, name, data)
    assert says in reply and "未改动语料" in reply
    assert corpus_state(admin_bot) == before


@pytest.mark.parametrize(
    ("name", "make", "says"),
    [
        ("bomb.docx", lambda: spaces_bomb(100), "读不出文字"),
        ("broken.docx", broken_xml_docx, "读不出文字"),
        ("passwd.txt", lambda: Path("/etc/passwd").read_bytes(), "没有讲话正文"),
        ("greeting.md", lambda: "# 讲话\n\n同志们：\n".encode(), "没有讲话正文"),
    ],
    ids=["docx-bomb", "docx-bad-xml", "passwd", "greeting-only"],
)
async def test_hostile_uploads_get_one_refusal_and_change_nothing(
    admin_bot: Harness, name: str, make, says: str
) -> None:
    before = corpus_state(admin_bot)
    reply = await upload(admin_bot, ADMIN_ID, name, make())
    assert reply.startswith("❌ 未改动语料：") and says in reply
    assert corpus_state(admin_bot) == before


async def test_a_markdown_upload_is_read_without_its_markup(admin_bot: Harness) -> None:
    markdown = (
        "# 全县计量工作会议讲话\n\n同志们：\n\n今年我们要在全县推广**智慧计量监管平台**，"
        "对加油机、电子秤实施远程在线监测，计划年内接入计量器具三千二百台，实现强制检定全覆盖。\n"
    )
    reply = await upload(admin_bot, ADMIN_ID, "jiliang.md", markdown.encode())
    assert "✅ 已加入 jiliang.md：1 篇讲话（全县计量工作会议讲话）" in reply
    index = admin_bot.app.bot_data.services.search.index
    (added,) = [c.text for c in index.chunks if c.speech_id.startswith("jiliang")]
    assert "智慧计量监管平台" in added and "**" not in added and "#" not in added


async def test_a_non_admin_upload_is_refused(admin_bot: Harness) -> None:
    before = corpus_state(admin_bot)
    reply = await upload(admin_bot, USER_ID, "new.txt", NEW_SPEECH.encode())
    assert "只有管理员可以上传" in reply
    assert corpus_state(admin_bot) == before
    attempts = await admin_bot.app.bot_data.services.records.admin_attempts()
    assert ("upload", False) in [(a, ok) for _, a, ok in attempts]


async def test_an_admin_upload_in_gb18030_is_indexed_and_answers(admin_bot: Harness) -> None:
    reply = await upload(admin_bot, ADMIN_ID, "计量讲话.txt", NEW_SPEECH.encode("gb18030"))
    assert "✅ 已加入 计量讲话.txt：1 篇讲话（全县计量工作会议讲话）" in reply and "26 篇讲话" in reply
    assert (admin_bot.settings.data_dir / "计量讲话.txt").read_bytes() == NEW_SPEECH.encode("gb18030")
    chat = admin_bot.server.private_chat(USER_ID)
    answer = await admin_bot.server.ask(chat, chat, "智慧计量监管平台接入多少台计量器具")
    assert "全县计量工作会议讲话" in answer["text"] and "三千二百台" in answer["text"]


async def test_a_docx_upload_is_read(admin_bot: Harness) -> None:
    document = docx.Document()
    for line in NEW_SPEECH.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    reply = await upload(admin_bot, ADMIN_ID, "jiliang.docx", buffer.getvalue())
    assert "✅ 已加入 jiliang.docx" in reply


@pytest.mark.slow  # two full rebuilds of the corpus
async def test_remove_moves_the_file_aside_and_restore_brings_it_back(admin_bot: Harness) -> None:
    server, admin = admin_bot.server, admin_bot.server.private_chat(ADMIN_ID)
    started = await server.ask(admin, admin, "/remove 003-1")
    removed = await server.wait_for_edit(admin.id, started["message_id"], timeout=60)
    assert "已移出 003.txt（1 篇讲话）" in removed["text"]
    assert (admin_bot.settings.data_dir / "removed" / "003_43aee00df7e627f5.txt").is_file()
    gone = await server.ask(admin, admin, "洪泽 省名牌产品 市名牌产品 数量")
    assert "质监局领导工作会议讲话稿" not in gone["text"]

    menu = await server.ask(admin, admin, "/restore")
    first_file = menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await server.press_button(admin, admin, menu["message_id"], first_file)
    working = (await server.wait_for_bot_messages(admin.id, after_message_id=menu["message_id"]))[0]
    back = await server.wait_for_edit(admin.id, working["message_id"], timeout=60)
    assert "已恢复 003.txt（1 篇讲话）" in back["text"]
    assert (admin_bot.settings.data_dir / "003_43aee00df7e627f5.txt").is_file()


async def test_removing_a_collection_asks_first_and_only_an_admin_may_confirm(admin_bot: Harness) -> None:
    server = admin_bot.server
    admin, user = server.private_chat(ADMIN_ID), server.private_chat(USER_ID)
    before = corpus_state(admin_bot)
    ask = await server.ask(admin, admin, "/remove 001-5")
    assert "共有 20 篇讲话" in ask["text"]
    data = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    forged = await server.press_button(user, user, ask["message_id"], data, forged=True)
    assert (await server.wait_for_callback_answer(forged))["text"] == "抱歉，这个命令只对管理员开放。"
    assert corpus_state(admin_bot) == before

    await server.press_button(admin, admin, ask["message_id"], data)
    working = (await server.wait_for_bot_messages(admin.id, after_message_id=ask["message_id"]))[0]
    done = await server.wait_for_edit(admin.id, working["message_id"], timeout=60)
    assert "已移出 001.txt（20 篇讲话）" in done["text"] and "索引现有 5 篇讲话" in done["text"]


async def test_non_admins_are_refused_remove_and_restore(admin_bot: Harness) -> None:
    server, user = admin_bot.server, admin_bot.server.private_chat(USER_ID)
    before = corpus_state(admin_bot)
    for command in ("/remove 003-1", "/restore", "/restore 003_43aee00df7e627f5.txt"):
        assert (await server.ask(user, user, command))["text"] == "抱歉，这个命令只对管理员开放。"
    assert corpus_state(admin_bot) == before


@pytest.mark.slow  # a load test: 50 answers during a rebuild
async def test_fifty_users_asking_during_an_upload_are_each_answered_once(admin_bot: Harness) -> None:
    server = admin_bot.server
    users = [server.private_chat(1000 + n) for n in range(50)]
    upload_task = asyncio.create_task(upload(admin_bot, ADMIN_ID, "计量讲话.txt", NEW_SPEECH.encode()))
    replies = await asyncio.gather(*(server.ask(u, u, "区长质量奖的奖金是多少", timeout=60) for u in users))
    assert "✅ 已加入" in await upload_task
    assert all("50万" in r["text"] for r in replies)
    assert all(len(server.bot_messages(u.id)) == 1 for u in users)


async def test_a_flood_from_one_user_does_not_hold_up_another(admin_bot: Harness) -> None:
    server = admin_bot.server
    flooder, other = server.private_chat(666), server.private_chat(USER_ID)
    await asyncio.gather(*(server.send_text(flooder, flooder, f"食品安全 {n}") for n in range(1000)))
    answer = await server.ask(other, other, "食品安全白皮书", timeout=60)
    assert "白皮书" in answer["text"]
    await server.wait_until_delivered()
    await admin_bot.app.update_queue.join()  # every flood message handled
    replies = [m["text"] for m in server.bot_messages(flooder.id)]
    assert len(replies) == 21 and sum("提问太快了" in r for r in replies) == 1  # 20 answers, one polite warning


async def test_no_hash_names_reach_an_admin_or_a_reader(admin_bot: Harness) -> None:
    server, admin = admin_bot.server, admin_bot.server.private_chat(ADMIN_ID)
    shown = [await server.ask(admin, admin, "/speeches")]
    confirm = await server.ask(admin, admin, "/remove 001-5")
    assert "001.txt" in confirm["text"]
    removing = await server.ask(admin, admin, "/remove 003-1")
    done = await server.wait_for_edit(admin.id, removing["message_id"])
    assert "已移出 003.txt" in done["text"]
    listing = await server.ask(admin, admin, "/restore")
    assert [label for label, _ in buttons(listing)] == ["003.txt"]
    restoring = await server.ask(admin, admin, "/restore 003.txt")  # by the name the admin was shown
    back = await server.wait_for_edit(admin.id, restoring["message_id"])
    assert "已恢复 003.txt" in back["text"]
    for message in [*shown, confirm, done, listing, back]:
        labels = " ".join(label for label, _ in buttons(message))
        assert not re.search(r"[_\-][0-9a-f]{12,}", message["text"] + labels), message["text"]
