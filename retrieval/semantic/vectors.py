"""The corpus's meaning vectors: one per passage and one per sentence, looked up by content.

Vectors are cached by (model id, text key), never by passage id, so a reindex
or an admin's upload only embeds text the cache has not seen. A corpus whose
vectors are not all in yet is served anyway: passages without one are
marked missing and the ranker treats their semantic features as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.ingest.chunking import Chunk, sentence_spans
from retrieval.keys import text_key
from retrieval.semantic.embeddings import model_slug


@dataclass(frozen=True)
class SemanticText:
    """A text the model embeds: a whole passage (sentence=-1) or one of its sentences."""

    chunk: int
    sentence: int
    text: str

    @cached_property
    def key(self) -> int:
        return text_key(self.text)


def semantic_texts(chunk: Chunk, chunk_index: int) -> list[SemanticText]:
    """A passage's search form (folded, read back if spun) and each of its sentences."""
    text = chunk.search_text
    items = [SemanticText(chunk_index, -1, text)]
    for k, (start, end) in enumerate(sentence_spans(chunk.text)):
        sentence = text[start:end].strip()
        if len(sentence) >= 2:
            items.append(SemanticText(chunk_index, k, sentence))
    return items


def corpus_texts(chunks: Sequence[Chunk]) -> list[SemanticText]:
    """Every text of a corpus the model embeds, in chunk order (seconds at 100k passages: made once per index)."""
    return [t for i, c in enumerate(chunks) for t in semantic_texts(c, i)]


@dataclass(frozen=True)
class CorpusVectors:
    """Passage and sentence vectors of an index's chunks, in chunk order; rows without a vector are zero."""

    passages: np.ndarray  # (chunks, dim) float32
    has_vector: np.ndarray  # (chunks,) bool: the passage and all its sentences are embedded
    sentences: np.ndarray  # (sentences, dim) float32
    sentence_chunk: np.ndarray  # (sentences,) int: the chunk each sentence belongs to
    sentence_number: np.ndarray  # (sentences,) int: its place among the chunk's sentences

    @property
    def complete(self) -> bool:
        return bool(self.has_vector.all())

    @property
    def coverage(self) -> float:
        return float(self.has_vector.mean()) if len(self.has_vector) else 1.0

    def passage_cosines(self, query: np.ndarray) -> np.ndarray:
        """Cosine of each passage to the question; NaN where the passage has no vector yet."""
        scores = self.passages @ query
        return np.where(self.has_vector, scores, np.nan)

    def best_sentences(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per chunk: the best sentence cosine (NaN when unknown) and that sentence's number (-1)."""
        n = len(self.has_vector)
        best = np.full(n, -np.inf, dtype=np.float32)
        which = np.full(n, -1, dtype=np.int64)
        if len(self.sentences):
            scores = self.sentences @ query
            starts = self._chunk_runs
            run_best = np.maximum.reduceat(scores, starts)  # sentences come chunk by chunk: one run each
            owners = self.sentence_chunk[starts]
            best[owners] = run_best
            # The best sentence's number; on a tie the later sentence, as before.
            run_ends = np.append(starts[1:], len(scores))
            at_best = np.flatnonzero(scores == np.repeat(run_best, run_ends - starts))
            run_of = np.searchsorted(starts, at_best, side="right") - 1
            last = np.append(run_of[1:] != run_of[:-1], True)
            which[owners[run_of[last]]] = self.sentence_number[at_best[last]]
        best = np.where(self.has_vector & np.isfinite(best), best, np.nan)
        return best, which

    @cached_property
    def _chunk_runs(self) -> np.ndarray:
        """Where each chunk's sentences start (assemble lists them in chunk order)."""
        chunk = self.sentence_chunk
        if len(chunk) > 1 and bool((chunk[1:] < chunk[:-1]).any()):
            raise ValueError("sentence vectors are not in chunk order")
        return np.flatnonzero(np.append(True, chunk[1:] != chunk[:-1]))


def assemble(
    texts: Sequence[SemanticText], chunk_count: int, vectors: Mapping[int, np.ndarray], dim: int
) -> CorpusVectors:
    """Gather the cached vectors of a corpus's texts (`corpus_texts`); what the cache lacks stays missing."""
    passages = np.zeros((chunk_count, dim), dtype=np.float32)
    has = np.ones(chunk_count, dtype=bool)
    sentence_rows: list[np.ndarray] = []
    sentence_chunk: list[int] = []
    sentence_number: list[int] = []
    for item in texts:
        vector = vectors.get(item.key)
        if vector is None:
            has[item.chunk] = False
            continue
        if item.sentence < 0:
            passages[item.chunk] = vector
        else:
            sentence_rows.append(vector)
            sentence_chunk.append(item.chunk)
            sentence_number.append(item.sentence)
    sentences = np.vstack(sentence_rows).astype(np.float32) if sentence_rows else np.zeros((0, dim), np.float32)
    return CorpusVectors(
        passages,
        has,
        sentences,
        np.asarray(sentence_chunk, dtype=np.int64),
        np.asarray(sentence_number, dtype=np.int64),
    )


def missing_texts(texts: Sequence[SemanticText], cached: Iterable[int]) -> list[SemanticText]:
    """The corpus texts (`corpus_texts`) whose vectors the cache lacks, each text once."""
    have = set(cached)
    out: dict[int, SemanticText] = {}
    for item in texts:
        if item.key not in have and item.key not in out:
            out[item.key] = item
    return list(out.values())


# --- the vector file shipped beside a corpus -------------------------------------------------


def bundle_path(data_dir: Path, model_id: str) -> Path:
    """Where a corpus folder keeps its precomputed vectors for one model."""
    return data_dir / "embeddings" / (model_slug(model_id) + ".npz")


def read_bundle(path: Path) -> dict[int, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path) as npz:
        keys, vectors = npz["keys"], npz["vectors"].astype(np.float32)
    return dict(zip(keys.tolist(), vectors, strict=True))


def write_bundle(path: Path, vectors: Mapping[int, np.ndarray]) -> None:
    """Half precision: a fifth of float32's size compressed, and cosines move by about 1e-4 (ranks do not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.asarray(sorted(vectors), dtype=np.int64)
    matrix = np.vstack([vectors[k] for k in keys.tolist()]).astype(np.float16) if len(keys) else np.zeros((0, 0))
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=keys, vectors=matrix)
    tmp.replace(path)
