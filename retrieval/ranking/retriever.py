"""One question → one ranked answer: the lexical index, the meaning vectors and the fitted ranker together.

A Retriever is an immutable snapshot; the service swaps in a new one when
the corpus is reindexed or more vectors arrive. Without a ranker model (or
one fitted for other features) it answers from the lexical index alone, and
says so in the log once.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.lexical.index import Index
from retrieval.lexical.text import fold
from retrieval.ranking.features import candidates
from retrieval.ranking.ranker import RankerModel, answer
from retrieval.results import Answer, Confidence
from retrieval.semantic.embeddings import Embedder
from retrieval.semantic.vectors import CorpusVectors

log = logging.getLogger(__name__)

# Embedding a question costs the square of its length in tokens (attention): 500 characters took about
# 50 times a usual question's CPU, and a few users sending such questions held up everyone's answers. The
# meaning of a question is in its first words (the longest training question has 34 characters); the
# lexical part still reads the whole of it, in linear time.
MAX_EMBEDDED_CHARS = 64

# Questions are embedded here while the asking thread does the lexical part of `candidates` beside it (the
# engine releases the GIL): ~25 ms of a ~75 ms question overlapped. One thread: the embedder serialises
# questions on its one engine anyway.
_embedding = ThreadPoolExecutor(max_workers=1, thread_name_prefix="question-embedding")


def embedded_question(question: str) -> str:
    """What the embedder is given for a question: its search form, at most MAX_EMBEDDED_CHARS long."""
    return fold(question)[:MAX_EMBEDDED_CHARS]


@dataclass(frozen=True)
class Retriever:
    index: Index
    vectors: CorpusVectors | None = None
    model: RankerModel | None = None
    embedder: Embedder | None = None

    def answer(self, question: str, top_k: int = 10) -> Answer:
        if self.model is None:
            hits = self.index.search(question, top_k)
            return Answer(hits, Confidence.HIGH if hits else Confidence.NONE)
        vector: Future[np.ndarray] | None = None
        if self.vectors is not None and self.embedder is not None and self.vectors.has_vector.any():
            vector = _embedding.submit(self.embedder.embed_query, embedded_question(question))
        return answer(self.index, candidates(self.index, self.vectors, vector, question), self.model, top_k)


def load_model(path: Path, embedding_model: str | None) -> RankerModel | None:
    """The fitted ranker, or None (lexical answers) when it is missing or fitted for something else."""
    if not path.is_file():
        log.warning("no ranker model at %s: answering from the lexical index alone", path)
        return None
    try:
        model = RankerModel.load(path)
    except (ValueError, KeyError, OSError) as exc:
        log.warning("ranker model %s not used (%s): answering from the lexical index alone", path, exc)
        return None
    if embedding_model is not None and model.embedding_model != embedding_model:
        log.warning(
            "ranker model %s was fitted with %s, not %s: answering from the lexical index alone",
            path,
            model.embedding_model,
            embedding_model,
        )
        return None
    return model
