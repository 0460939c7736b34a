"""Folding and tokenizing: the same words out of a question and a passage."""

from __future__ import annotations

from retrieval.ingest.cleaning import clean_lines, strip_pinyin
from retrieval.ingest.respelling import is_spun, read_back
from retrieval.lexical.text import fold, query_word_tokens, word_tokens


def test_traditional_and_full_width_fold_to_simplified_half_width() -> None:
    assert fold("質量強市ＡＢＣ１２３") == "质量强市abc123"


def test_numbers_keep_their_units() -> None:
    tokens = word_tokens("区长质量奖的奖金是50万，合格率达到90.6%")
    assert "50万" in tokens and "90.6%" in tokens


def test_question_words_and_prefixes_are_dropped() -> None:
    tokens = query_word_tokens("质监部门要帮企业建立哪三大体系？")
    assert "三大" in tokens and "哪三大" not in tokens
    assert not {"什么", "怎么", "多少", "哪些"} & set(query_word_tokens("什么怎么多少哪些质量"))


def test_pinyin_annotations_are_removed() -> None:
    assert strip_pinyin("質(zhì)量強市工作領(lǐng)導講話") == "質量強市工作領導講話"
    assert strip_pinyin("(一)完成质量兴区验收工作") == "(一)完成质量兴区验收工作"


def test_page_furniture_lines_are_dropped() -> None:
    page = "\n".join(
        [
            "分享",
            "下载文档",
            "ID:2065240",
            "大小:23.50KB",
            "网站客服:3074922707",
            "同志们：",
            "今天召开质量工作会议。",
            "您可能关注的文档",
            "收起",
        ]
    )
    assert clean_lines(page) == ["同志们：", "今天召开质量工作会议。"]


def test_a_flattened_page_is_split_back_into_paragraphs() -> None:
    line = "区长讲话 同志们: " + "今天我们召开会议。" * 100 + " " + "一、立足当前。" + "质量工作很重要。" * 100
    lines = clean_lines(line)
    assert lines[:3] == ["区长讲话", "同志们:", "今天我们召开会议。" * 100]


def test_spun_words_are_read_back_only_in_spun_documents() -> None:
    spun = "提升效劳质量，夯实根底，效劳业开展很快。"
    assert is_spun(spun)
    assert read_back(spun) == "提升服务质量，夯实基础，服务业发展很快。"
    assert not is_spun("大力开展质量强区活动。")
