"""A reply an official can quote: the answer first with its citation, a page that fits a phone, bold only on
rare words, the reader's own Traditional, titles that tell speeches apart, no hash names, an admin's /help."""

from __future__ import annotations

import re

from bot.view.script import Script, detect
from tests.bot.asking.test_conversation import button, buttons, styled
from tests.bot.conftest import ADMIN_ID, USER_ID, Harness

# Questions of every kind: a number, a how-to, a list, Traditional, a long paragraph's answer.
QUESTIONS = [
    "区长质量奖的奖金是多少",
    "怎么抓食品安全",
    "质监部门要帮企业建立哪三大体系",
    "區長質量獎的獎金是多少",
    "井陉县多少家企业设立了首席质量官",
    "施工单位上半年出了几起质量事故",
    "金华市政府质量奖奖金提高到多少",
    "质量强市",
]
HASH = re.compile(r"[_\-][0-9a-f]{12,}")


async def test_the_answer_comes_first_with_its_citation(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "区长质量奖的奖金是多少")
    lines = reply["text"].split("\n")
    assert lines[0] == "🔎 区长质量奖的奖金是多少"
    answer = next(line for line in lines if line.startswith("答："))
    assert answer == "答：……现在我们的区长质量奖的奖金是50万……（《质量工作会议上的讲话稿》第6段）"
    assert reply["text"].index("答：") < reply["text"].index("\n1. ")

    doubtful = await server.ask(chat, chat, "老百姓买到假货找谁")
    assert "没有找到直接回答" in doubtful["text"] and "答：" not in doubtful["text"]


async def test_a_first_page_fits_a_phone_and_bolds_only_rare_words(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    for question in QUESTIONS:
        reply = await server.ask(chat, chat, question)
        assert len(reply["text"]) <= 900, (question, len(reply["text"]))
        # past the question itself, the 答： label and the passages' headings: the words marked
        bold = [b for b in styled(reply, "bold")[1:] if b != "答：" and not re.match(r"\d\. ", b)]
        assert not {"质量", "質量", "工作", "企业", "企業"} & set(bold), (question, bold)
        passages = len(re.findall(r"^\d\. ", reply["text"], flags=re.M))
        assert len(bold) <= 4 * passages, (question, bold)  # a few a passage at most
    rare = await server.ask(chat, chat, "区长质量奖的奖金是多少")
    assert "区长质量奖" in styled(rare, "bold") and "奖金" in styled(rare, "bold")
    assert any("50万" in u for u in styled(rare, "underline"))


async def test_a_traditional_question_after_a_simplified_one_is_answered_in_traditional_as_typed(
    bot: Harness,
) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    await server.ask(chat, chat, "区长质量奖的奖金是多少")
    for _ in range(2):
        reply = await server.ask(chat, chat, "台北今天會下雨嗎")
        assert "“台北今天會下雨嗎”" in reply["text"] and "臺北" not in reply["text"]
        assert detect(reply["text"].replace("台北今天會下雨嗎", "")) is Script.TRADITIONAL
    # 台 not as a place (a question about 台灣's award is not covered: tests/bot/asking/test_places.py)
    sure = await server.ask(chat, chat, "區長質量獎出台後獎金是多少")
    assert sure["text"].startswith("🔎 區長質量獎出台後獎金是多少") and "50萬" in sure["text"]


async def test_taiwan_readers_get_taiwans_forms_and_hong_kong_readers_theirs(bot: Harness) -> None:
    server = bot.server
    taiwan = server.private_chat(77, language_code="zh-TW")
    reply = await server.ask(taiwan, taiwan, "區長質量獎的獎金是多少")
    assert "質量為先" in reply["text"] and "爲" not in reply["text"]
    listing = await server.ask(taiwan, taiwan, "/speeches")  # no script in the message: the reader's own
    assert "講話列表" in listing["text"]

    hong_kong = server.private_chat(78, language_code="zh-HK")
    reply = await server.ask(hong_kong, hong_kong, "區長質量獎的獎金是多少")
    assert "質量為先" in reply["text"] and "爲" not in reply["text"]


async def test_no_two_speeches_share_a_title_in_a_reply_or_the_list(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "施工单位上半年出了几起质量事故")
    blocks = re.split(r"^(?=\d\. )", reply["text"], flags=re.M)[1:]  # one per passage shown
    assert blocks, reply["text"]
    headings, copies_of = [], []
    for block in blocks:
        headings.append(re.match(r"\d\. (.+) · 第", block).group(1))  # type: ignore[union-attr]
        also = re.search(r"同一段落亦见：(.+)", block)
        copies_of.append({re.sub(r" 第\d+段.*$", "", c) for c in also.group(1).split("；")} if also else set())
    titles = set(headings).union(*copies_of)
    assert "讲话（施工、合格率） · 篇九" in titles and "讲话（施工、合格率） · 篇十一（一）" in titles
    speeches = [data.split(":")[1] for _, data in buttons(reply) if data.startswith("a:")]
    heading_of = dict(zip(speeches, headings, strict=True))
    assert len(set(heading_of.values())) == len(heading_of)  # a title is one speech's
    assert all(heading not in copies for heading, copies in zip(headings, copies_of, strict=True))

    listing = await server.ask(chat, chat, "/speeches")
    rows = re.findall(r"^\S+  (.+)（\d+段）$", listing["text"], flags=re.M)
    assert len(rows) == 25 and len(set(rows)) == 25
    # Every title the reply shows, a hit's or a copy's, is one row of the list, so it names one speech (a
    # copy may be in the speech of another hit: then it carries that hit's title, rightly).
    assert titles <= set(rows)


async def test_a_passage_can_be_cited_whole_with_its_source(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "区长质量奖的奖金是多少")
    await server.press_button(chat, chat, reply["message_id"], button(reply, "📋 1 引用"))
    cited = (await server.wait_for_bot_messages(chat.id, after_message_id=reply["message_id"]))[0]
    quote = styled(cited, "pre")[0]
    assert quote.startswith("“我在想，转型发展") and quote.endswith("”\n——《质量工作会议上的讲话稿》第6段")


async def test_the_context_says_which_paragraphs_each_passage_holds(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "金华市政府质量奖奖金提高到多少")
    await server.press_button(chat, chat, reply["message_id"], button(reply, "1 上下文"))
    around = (await server.wait_for_bot_messages(chat.id, after_message_id=reply["message_id"]))[0]
    labels = [(int(a), int(b or a)) for a, b in re.findall(r"第(\d+)(?:–(\d+))?段", around["text"])]
    assert labels[0] == (1, 2) and labels[1][0] == 3  # 第1–2段 packs two short paragraphs: nothing skipped
    for (_, last), (first, _) in zip(labels, labels[1:], strict=False):
        assert first == last + 1 or "略" in around["text"]


async def test_no_hash_names_reach_a_reader(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    shown = [await server.ask(chat, chat, "/speeches"), await server.ask(chat, chat, "/speech 004-1")]
    assert "004.txt" in shown[0]["text"] and "004.txt" in shown[1]["text"]
    assert not any(HASH.search(message["text"]) for message in shown)


async def test_help_lists_the_admin_commands_to_an_admin_only(bot: Harness) -> None:
    server = bot.server
    admin, user = server.private_chat(ADMIN_ID), server.private_chat(USER_ID)
    admin_help = await server.ask(admin, admin, "/help")
    assert all(f"/{c}" in admin_help["text"] for c in ("reindex", "stats", "remove", "restore"))
    user_help = await server.ask(user, user, "/help")
    assert "/speeches" in user_help["text"] and "/reindex" not in user_help["text"]
