"""Shared fixtures: the real bundled corpus, indexed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.build import build_index
from retrieval.corpus import Corpus, load_corpus
from retrieval.index import Index

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(DATA_DIR)


@pytest.fixture(scope="session")
def index(corpus: Corpus) -> Index:
    return build_index(corpus.speeches, corpus.chunks)
