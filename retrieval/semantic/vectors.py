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
from retrieval.lexical.build import give_back_freed_memory
from retrieval.semantic.embeddings import model_slug
from retrieval.semantic.neighbours import Neighbours
from retrieval.semantic.rows import Rows
from retrieval.storage.vector_table import VectorTable


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
    """Passage and sentence vectors of an index's chunks, in chunk order; rows without a vector are zero.

    Held as float16 (half of float32's memory; cosines move by about 1e-4). A question's meaning candidates
    come from the nearest-neighbour indexes (`nearest_passages`, `nearest_sentences`), and only candidates
    are scored exactly (`passage_cosines_at`, `best_sentences_at`): a question never reads every vector.
    """

    passages: Rows  # (chunks, dim) float16
    has_vector: np.ndarray  # (chunks,) bool: the passage and all its sentences are embedded
    sentences: Rows  # (sentences, dim) float16
    sentence_chunk: np.ndarray  # (sentences,) int: the chunk each sentence belongs to
    sentence_number: np.ndarray  # (sentences,) int: its place among the chunk's sentences
    passage_keys: np.ndarray | None = None  # (chunks,) int64 text keys; None: row numbers stand in
    sentence_keys: np.ndarray | None = None  # (sentences,) int64
    passage_neighbours: Neighbours | None = None  # built here (in memory) when not given
    sentence_neighbours: Neighbours | None = None

    @property
    def complete(self) -> bool:
        return bool(self.has_vector.all())

    @property
    def coverage(self) -> float:
        return float(self.has_vector.mean()) if len(self.has_vector) else 1.0

    # --- every vector: the reference the neighbour search is held to ------------------------------

    def passage_cosines(self, query: np.ndarray) -> np.ndarray:
        """Cosine of each passage to the question; NaN where the passage has no vector yet (reads them all)."""
        return self.passage_cosines_at(query, np.arange(len(self.has_vector)))

    def best_sentences(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per chunk: the best sentence cosine (NaN when unknown) and that sentence's number (-1); reads all."""
        return self.best_sentences_at(query, np.arange(len(self.has_vector)))

    # --- a question's candidates only ---------------------------------------------------------------

    def passage_cosines_at(self, query: np.ndarray, chunks: np.ndarray) -> np.ndarray:
        """Exact cosines of these passages (float32 arithmetic on the float16 rows); NaN without a vector."""
        chunks = np.asarray(chunks, dtype=np.int64)
        scores = self.passages[chunks].astype(np.float32) @ np.asarray(query, dtype=np.float32)
        return np.where(self.has_vector[chunks], scores, np.nan)

    def best_sentences_at(self, query: np.ndarray, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For these chunks: the best sentence cosine (NaN when unknown) and its number (-1); on a tie the
        later sentence."""
        chunks = np.asarray(chunks, dtype=np.int64)
        best = np.full(len(chunks), np.nan, dtype=np.float32)
        which = np.full(len(chunks), -1, dtype=np.int64)
        if not len(chunks) or not len(self.sentences):
            return best, which
        starts, ends = self.sentence_runs[0][chunks], self.sentence_runs[1][chunks]
        lengths = ends - starts
        rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        if not len(rows):
            return best, which
        scores = self.sentences[rows].astype(np.float32) @ np.asarray(query, dtype=np.float32)
        owners = np.flatnonzero(lengths)
        run_starts = np.cumsum(lengths)[owners] - lengths[owners]
        run_best = np.maximum.reduceat(scores, run_starts)
        at_best = np.flatnonzero(scores == np.repeat(run_best, lengths[owners]))
        run_of = np.searchsorted(run_starts, at_best, side="right") - 1
        last = np.append(run_of[1:] != run_of[:-1], True)
        keep = self.has_vector[chunks[owners]]
        best[owners] = np.where(keep, run_best, np.nan)
        which[owners[run_of[last]]] = self.sentence_number[rows[at_best[last]]]
        which[owners[~keep]] = -1
        return best, which

    def nearest_passages(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """About the `count` passages nearest the question (copies each listed) and their exact cosines,
        best first, from the passage neighbour index."""
        keys = self._passage_index.search(query, count)
        chunks, of_key = _rows_of(keys, *self._passage_lookup)
        keep = self.has_vector[chunks]
        chunks, of_key = chunks[keep], of_key[keep]
        cos = _once_a_key(self.passages, chunks, of_key, query)
        order = np.lexsort((chunks, -cos))
        return chunks[order], cos[order]

    def nearest_sentences(self, query: np.ndarray, count: int) -> np.ndarray:
        """The chunks of about the `count` sentences nearest the question, each chunk once, nearest first."""
        keys = self._sentence_index.search(query, count)
        rows, of_key = _rows_of(keys, *self._sentence_lookup)
        keep = self.has_vector[self.sentence_chunk[rows]]
        rows, of_key = rows[keep], of_key[keep]
        chunks = self.sentence_chunk[rows]
        if not len(chunks):
            return chunks
        cos = _once_a_key(self.sentences, rows, of_key, query)
        order = np.lexsort((chunks, -cos))
        _, first = np.unique(chunks[order], return_index=True)
        return chunks[order][np.sort(first)]

    @cached_property
    def sentence_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each chunk's sentences start and end (assemble lists them in chunk order)."""
        chunk = self.sentence_chunk
        if len(chunk) > 1 and bool((chunk[1:] < chunk[:-1]).any()):
            raise ValueError("sentence vectors are not in chunk order")
        ids = np.arange(len(self.has_vector))
        return np.searchsorted(chunk, ids, side="left"), np.searchsorted(chunk, ids, side="right")

    @cached_property
    def _passage_lookup(self) -> tuple[np.ndarray, np.ndarray]:
        keys = self._keys(self.passage_keys, len(self.passages))
        return _lookup(np.where(self.has_vector, keys, _NO_KEY))

    @cached_property
    def _sentence_lookup(self) -> tuple[np.ndarray, np.ndarray]:
        return _lookup(self._keys(self.sentence_keys, len(self.sentences)))

    @cached_property
    def _passage_index(self) -> Neighbours:
        if self.passage_neighbours is not None:
            return self.passage_neighbours
        keys = self._keys(self.passage_keys, len(self.passages))
        return _built(self.passages.shape[1], keys[self.has_vector], self.passages[self.has_vector])

    @cached_property
    def _sentence_index(self) -> Neighbours:
        if self.sentence_neighbours is not None:
            return self.sentence_neighbours
        return _built(self.sentences.shape[1], self._keys(self.sentence_keys, len(self.sentences)), self.sentences)

    @staticmethod
    def _keys(keys: np.ndarray | None, count: int) -> np.ndarray:
        return np.arange(count, dtype=np.int64) if keys is None else keys


_NO_KEY = np.iinfo(np.int64).min  # a passage without a vector: no key the neighbour index holds


def _lookup(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys sorted, and the row each sorted key came from: a key's rows (copies share one) by binary search."""
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _rows_of(found: np.ndarray, sorted_keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every row holding one of the found keys (a copied passage's text is one key, several rows), in the
    order found, and the found key each row holds (its place in `found`); keys the rows do not hold (texts
    of another corpus still in the index) are skipped."""
    low = np.searchsorted(sorted_keys, found, side="left")
    high = np.searchsorted(sorted_keys, found, side="right")
    counts = high - low
    at = np.repeat(low - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    return rows[at], np.repeat(np.arange(len(found)), counts)


def _once_a_key(matrix: Rows, rows: np.ndarray, of_key: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The rows' exact cosines, one product a key: rows of one key hold one vector, and a sentence an archive
    repeats (同志们：, 谢谢大家) is one key behind thousands of rows."""
    keys, first = np.unique(of_key, return_index=True)
    cos = matrix[rows[first]].astype(np.float32) @ np.asarray(query, dtype=np.float32)
    return cos[np.searchsorted(keys, of_key)]


def _built(dim: int, keys: np.ndarray, rows: Rows) -> Neighbours:
    neighbours = Neighbours(dim)
    if len(keys):
        neighbours.sync(keys, rows)
    return neighbours


def assemble(
    texts: Sequence[SemanticText],
    chunk_count: int,
    vectors: Mapping[int, np.ndarray],
    dim: int,
    neighbours: tuple[Neighbours, Neighbours] | None = None,
) -> CorpusVectors:
    """Gather the cached vectors of a corpus's texts (`corpus_texts`); what the cache lacks stays missing.
    With `neighbours` (the passage and sentence indexes kept beside the store), they are brought up to
    date with these vectors: only keys they lack are added and keys no longer in the corpus removed."""
    count = len(texts)
    keys = np.fromiter((t.key for t in texts), dtype=np.int64, count=count)
    chunk = np.fromiter((t.chunk for t in texts), dtype=np.int64, count=count)
    number = np.fromiter((t.sentence for t in texts), dtype=np.int64, count=count)
    found, rows = _gather(vectors, keys, dim)
    has = np.ones(chunk_count, dtype=bool)
    has[chunk[~found]] = False
    is_passage = number < 0
    passages = np.zeros((chunk_count, dim), dtype=np.float16)
    passage_keys = np.zeros(chunk_count, dtype=np.int64)
    took = is_passage & found
    passages[chunk[took]] = rows[is_passage[found]]
    passage_keys[chunk[took]] = keys[took]
    took = ~is_passage & found
    sentences = np.ascontiguousarray(rows[~is_passage[found]])
    del rows
    sentence_keys = keys[took]
    if neighbours is not None:
        complete = bool(has.all())
        neighbours[0].sync(passage_keys[has], passages[has], complete)
        neighbours[1].sync(sentence_keys, sentences, complete)
    give_back_freed_memory()  # the texts' and the cache's blocks, freed by the caller, are not needed again
    return CorpusVectors(
        passages,
        has,
        sentences,
        chunk[took],
        number[took],
        passage_keys,
        sentence_keys,
        *(neighbours or (None, None)),
    )


def _gather(vectors: Mapping[int, np.ndarray], keys: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Which keys the cache holds, and their vectors in key order (float16), without a Python object a row
    when the cache is a VectorTable."""
    if isinstance(vectors, VectorTable):
        at, found = vectors.rows_of(keys)
        picked = at[found]
        rows = vectors.matrix[np.maximum(picked, 0)] if len(vectors.matrix) else np.zeros((len(picked), dim))
        rows = rows.astype(np.float16, copy=False)
        for k in np.flatnonzero(picked < 0).tolist():  # added since it was read: a few
            rows[k] = vectors[int(keys[found][k])]
        return found, rows
    found = np.fromiter((k in vectors for k in keys.tolist()), dtype=bool, count=len(keys))
    chosen = [vectors[k] for k in keys[found].tolist()]
    rows = np.vstack(chosen).astype(np.float16) if chosen else np.zeros((0, dim), np.float16)
    return found, rows


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
        keys, vectors = npz["keys"], npz["vectors"].astype(np.float16)
    return dict(zip(keys.tolist(), vectors, strict=True))


def write_bundle(path: Path, vectors: Mapping[int, np.ndarray]) -> None:
    """Half precision: a fifth of float32's size compressed, and cosines move by about 1e-4 (ranks do not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.asarray(sorted(vectors), dtype=np.int64)
    matrix = np.vstack([vectors[k] for k in keys.tolist()]).astype(np.float16) if len(keys) else np.zeros((0, 0))
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=keys, vectors=matrix)
    tmp.replace(path)
