"""Property tests on the search and rendering path: any text in, valid Telegram HTML out, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.harness.telegram_html import parse_html
from bot.view.render import MESSAGE_LIMIT, answer_html, context_html, no_answer_html, shortened_note, speech_page_html
from retrieval.ingest.chunking import Chunk
from retrieval.lexical.index import Index
from retrieval.question import read_question

SPECIALS = st.sampled_from(list("<>&\"'*_`[]()~#+-=|{}.!\\/") + ["&amp;", "<b>", "</i>", "&#", "\x00", "\u202e"])
HOSTILE = st.lists(st.one_of(st.text(max_size=20), SPECIALS), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=600), HOSTILE, st.text(min_size=4000, max_size=4096))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_sendable(html: str) -> None:
    text, _ = parse_html(html)  # raises on anything Telegram would refuse to parse
    assert len(text.strip()) > 0 and len(text) <= MESSAGE_LIMIT


@FAST
@given(question=ANY_TEXT)
def test_any_question_gets_a_sendable_reply(index: Index, question: str) -> None:
    read = read_question(question)
    searched, note = read.text, shortened_note(read)
    hits = index.search(searched, 3) if searched else []
    assert_sendable(answer_html(searched, hits, note=note) if hits else no_answer_html(searched, note))


@FAST
@given(title=HOSTILE, source=HOSTILE, texts=st.lists(ANY_TEXT.filter(str.strip), min_size=1, max_size=3))
def test_any_passage_text_renders_as_sendable_pages(title: str, source: str, texts: list[str]) -> None:
    chunks = [Chunk(f"x-1:{i}", "x-1", i, i, "", t) for i, t in enumerate(texts, start=1)]
    assert_sendable(speech_page_html(title or "t", source, chunks, 1, 1))
    assert_sendable(context_html(title or "t", chunks, chunks[0].id))
