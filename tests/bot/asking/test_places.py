"""Answers that know where they speak, through the real bot and the local Bot API server."""

from __future__ import annotations

from tests.bot.asking.test_conversation import buttons
from tests.bot.conftest import USER_ID, Harness


async def test_a_place_no_speech_covers_gets_the_plain_not_covered_reply(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "广州市政府质量奖的奖金是多少")
    text = reply["text"]
    assert text.startswith("这些讲话没有谈到广州市")
    assert "1. " not in text and not buttons(reply)  # no passage offered as the answer, nothing to open
    # what other places did is offered only as such: labelled with the place its speech speaks for
    assert "说的不是广州市" in text and "金华" in text


async def test_a_traditional_question_about_an_uncovered_place_is_told_so_in_its_script(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "臺北市的產品抽檢合格率是多少")
    assert reply["text"].startswith("這些講話沒有談到臺北市")


async def test_a_question_naming_a_covered_county_is_answered_from_that_county(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "攸县开展质量兴县有什么意义")
    first = reply["text"].split("\n\n2. ")[0]
    assert "1. 攸县：质量兴县会议讲话" in first
    assert "没有找到直接回答" not in reply["text"]  # answered, not offered as the closest


async def test_a_question_off_the_corpus_that_names_a_place_is_refused_as_any_other(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "台北今天會下雨嗎")
    assert "“台北今天會下雨嗎”" in reply["text"] and "別處講話" not in reply["text"]


async def test_a_question_about_taiwans_award_is_not_answered_with_a_district_of_the_mainlands(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "台灣的區長質量獎獎金是多少")
    assert reply["text"].startswith("這些講話沒有談到台灣") and not buttons(reply)
