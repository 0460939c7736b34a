"""The shipped EmbeddingGemma vectors are what the model gives, where the fetched model is on this machine.

`bash ../shared/models/fetch-embeddinggemma.sh` puts it in ~/.cache/speechbot-models (or
$SPEECHBOT_MODELS); the test is skipped elsewhere, and without the models extra.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from retrieval.lexical.index import Index
from retrieval.semantic.choice import parse_embedder
from retrieval.semantic.vectors import bundle_path, corpus_texts, read_bundle
from tests.conftest import DATA_DIR

pytestmark = pytest.mark.slow

FOLDER = Path(os.environ.get("SPEECHBOT_MODELS", Path.home() / ".cache" / "speechbot-models")) / "embeddinggemma-300m"


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_shipped_gemma_vectors_are_what_the_model_gives(precision: str, index: Index) -> None:
    pytest.importorskip("sentence_transformers", reason="the models extra is not installed")
    if not (FOLDER / "modules.json").is_file():
        pytest.skip(f"EmbeddingGemma is not fetched to {FOLDER}")
    choice = parse_embedder(f"sentence-transformers:{FOLDER}:{precision}")
    shipped = read_bundle(bundle_path(DATA_DIR, choice.model_id))
    if not shipped:
        pytest.skip(f"no shipped vectors for {choice.model_id}")
    texts = corpus_texts(index.chunks)
    assert {t.key for t in texts} <= set(shipped)  # every bundled text has its vector
    sample = random.Random(7).sample(texts, 6)
    fresh = choice.load().embed_passages([t.text for t in sample])
    for item, vector in zip(sample, fresh, strict=True):
        assert float(shipped[item.key] @ vector) > 0.999, item.text
