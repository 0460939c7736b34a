"""Text as a reader is shown it: encoding damage repaired by its shape, a heading with its body,
a spun document's words read back with a note, file names without their hash."""

from __future__ import annotations

from retrieval.ingest.chunking import chunk_speech, sentence_spans
from retrieval.ingest.cleaning import repair_encoding
from retrieval.ingest.corpus import Corpus
from retrieval.ingest.speeches import Speech
from retrieval.results import TextNote
from retrieval.shown import file_label, reader_text, text_note, unhashed
from tests.conftest import DATA_DIR

BODY = "质量安全事关群众衣食住行,是我们义不容辞的责任。" * 8


def test_lost_byte_damage_in_004_is_repaired_by_its_shape() -> None:
    raw = (DATA_DIR / "004_342c7815cd97eb2a.txt").read_text(encoding="utf-8")
    repaired = repair_encoding(raw)
    assert "將建筑類企業(yè)納入參評范圍" in repaired.text and "?yún)⒃u" not in repaired.text
    assert "“成長中的煩惱”。《金華市十二五規(guī)劃綱要》" in repaired.text
    assert repaired.spots == ("參評", "。《金華")


def test_real_question_marks_are_left_alone() -> None:
    raw = (DATA_DIR / "001_eee244ba84f2062c.txt").read_text(encoding="utf-8")
    assert repair_encoding(raw).text == raw  # 是什么?是工程质量 and the like are questions


def test_a_question_mark_inside_a_number_does_not_end_a_sentence() -> None:
    assert len(sentence_spans("开展“3?15国际消费者权益日”活动,宣传质量法规。")) == 1


def test_repaired_passages_say_so(corpus: Corpus) -> None:
    chunk = next(c for c in corpus.chunks if "納入參評范圍" in c.text)
    assert chunk.repaired and text_note(chunk) is TextNote.REPAIRED
    assert not any(c.repaired for c in corpus.chunks if c.speech_id != "004-1")


def test_a_numbered_heading_written_as_a_sentence_travels_with_its_body() -> None:
    heading = "〔二〕着力抓好质量安全,进一步提升质量安全保障水平。"
    speech = Speech("t-1", "t", "t.txt", ("同志们：", BODY, heading, BODY))
    chunks = chunk_speech(speech)
    assert all(c.text != heading for c in chunks)
    assert chunks[-1].text.startswith(heading + "\n")


def test_the_last_item_of_a_list_is_not_taken_for_a_heading() -> None:
    items = ("5、一些员工满于现状,质量意识不高。", "6、工作的灵动性不高,缺乏相应的调整。")
    speech = Speech("t-1", "t", "t.txt", (BODY, *items, BODY))
    texts = [c.text for c in chunk_speech(speech)]
    assert not any(t.startswith("6、") for t in texts)
    assert any(items[1] in t and t.endswith(items[1]) for t in texts)


def test_a_spun_passage_shows_the_speakers_words_and_says_so(corpus: Corpus) -> None:
    chunk = next(c for c in corpus.chunks if c.spun and "效劳" in c.text)
    shown = reader_text(chunk)
    assert "效劳" not in shown and "服务" in shown and len(shown) == len(chunk.text)
    assert text_note(chunk) is TextNote.READ_BACK


def test_stray_closing_quotes_are_closed_as_opened(corpus: Corpus) -> None:
    assert not any("〞" in c.text for c in corpus.chunks)
    assert any("“美丽乡村、魅力水乡”" in c.text for c in corpus.chunks)


def test_file_names_are_shown_without_their_content_hash() -> None:
    assert file_label("004_342c7815cd97eb2a.txt") == "004.txt"
    assert file_label("质量讲话_2023.docx") == "质量讲话_2023.docx"
    assert unhashed("004_342c7815cd97eb2a.txt: not in the corpus") == "004.txt: not in the corpus"
