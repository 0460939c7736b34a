"""What a reader sees: the reply in their own script with its marks in place, the source one tap away,
speeches found by id prefix, the whole speech opened at the passage, inline queries logged."""

from __future__ import annotations

from bot.view.script import Script, Writer, detect
from tests.bot.asking.test_conversation import button, buttons, logged_rows, styled
from tests.bot.conftest import USER_ID, Harness

TRADITIONAL_ONLY = "獎質東區們這來說會發強"
SIMPLIFIED_ONLY = "奖质东区们这来说会发强"


def test_the_script_of_a_question_is_told_by_round_trip() -> None:
    assert detect("金华市政府质量奖奖金提高到多少") is Script.SIMPLIFIED
    assert detect("區長質量獎的獎金是多少") is Script.TRADITIONAL
    assert detect("ISO 9001 2023") is None  # nothing to tell by
    assert detect("质量獎") is None  # a real mix


def test_marks_stay_on_their_words_when_conversion_changes_length() -> None:
    # OpenCC's phrase conversion can turn one run into a longer or shorter one; tags stay between runs
    html = "<b>质量</b>与<u>发展</u>&lt;"
    assert Writer(Script.TRADITIONAL).html(html) == "<b>質量</b>與<u>發展</u>&lt;"


async def test_a_simplified_question_is_answered_in_simplified_from_the_traditional_file(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "金华市政府质量奖奖金提高到多少")
    text = reply["text"]
    assert "每家获奖企业奖金提高到60万元" in text  # 004 is Traditional
    assert not set(TRADITIONAL_ONLY) & set(text)
    assert any("60万元" in u for u in styled(reply, "underline"))
    bold = styled(reply, "bold")
    assert any("奖金" in b for b in bold) and any("质量奖" in b for b in bold)
    assert {"📖 1 上下文", "📄 1 全文", "👍 有用"} <= {label for label, _ in buttons(reply)}


async def test_a_traditional_question_is_answered_in_traditional_from_a_simplified_file(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "區長質量獎的獎金是多少")
    text = reply["text"]
    assert "現在我們的區長質量獎的獎金是50萬" in text  # 篇五 and 000 are Simplified
    assert not set(SIMPLIFIED_ONLY) & set(text)
    assert any("50萬" in u for u in styled(reply, "underline"))
    assert "區長質量獎" in styled(reply, "bold") and "獎金" in styled(reply, "bold")
    assert {"📖 1 上下文", "📄 1 全文", "👍 有用"} <= {label for label, _ in buttons(reply)}  # labels too

    # a script-neutral message keeps the reader's last script
    listing = await server.ask(chat, chat, "/speeches")
    assert "講話列表" in listing["text"]

    # the context shows the passage marked, still in Traditional, and the source a tap away
    await server.press_button(chat, chat, reply["message_id"], button(reply, "1 上下文"))
    around = (await server.wait_for_bot_messages(chat.id, after_message_id=listing["message_id"]))[0]
    assert "上下文" in around["text"] and "▶ 第" in around["text"]
    assert any("50萬" in u for u in styled(around, "underline"))
    await server.press_button(chat, chat, around["message_id"], button(around, "原文"))
    source = (await server.wait_for_bot_messages(chat.id, after_message_id=around["message_id"]))[0]
    assert "现在我们的区长质量奖的奖金是50万" in source["text"]  # as the file has it: Simplified
    assert "原文" in source["text"]


async def test_the_whole_speech_opens_at_the_page_holding_the_passage_with_it_marked(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "质量强市")
    third = [data for label, data in buttons(reply) if "全文" in label][2]
    await server.press_button(chat, chat, reply["message_id"], third)
    speech = (await server.wait_for_bot_messages(chat.id, after_message_id=reply["message_id"]))[0]
    assert "▶ 第" in speech["text"]
    page = int(speech["text"].split("（第 ")[1].split("/")[0])
    index = bot.app.bot_data.services.search.index
    chunk_id = third.split(":", 1)[1].rsplit(":", 1)[0]
    from bot.view.render import speech_pages

    pages = speech_pages(index.speech_chunks(index.chunk(chunk_id).speech_id))
    assert any(c.id == chunk_id for c in pages[page - 1])
    assert styled(speech, "underline")  # the answering sentence
    assert "_342c" not in speech["text"] and ".txt" in speech["text"]


async def test_speech_with_an_id_prefix_lists_the_matches(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    matches = await server.ask(chat, chat, "/speech 001-7")
    assert all(f"001-7.{n}" in matches["text"] for n in (1, 2, 3)) and "001-1 " not in matches["text"]
    one = await server.ask(chat, chat, "/speech 002")
    assert one["text"].startswith("📄 ") and "第 1/" in one["text"]


async def test_a_spun_speech_is_shown_in_the_speakers_words_with_a_note(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "要大力发展哪些生产性服务业")
    text = reply["text"]
    assert "大力发展信息、科技、金融等生产性服务业" in text and "效劳" not in text
    assert "同义词改写" in text


async def test_inline_queries_are_logged_once_per_question_typed(bot: Harness) -> None:
    server, user = bot.server, bot.server.private_chat(USER_ID)
    for typed in ("首席", "首席质量", "首席质量官"):
        query_id = await server.inline_query(user, typed)
        answer = await server.wait_for_inline_answer(query_id)
    assert answer["results"] and answer["is_personal"]
    rows = await logged_rows(bot)  # every inline query handled, each logged just after its answer
    assert [(r[2], r[5]) for r in rows] == [("inline", "首席质量官")]
