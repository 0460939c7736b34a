"""A tiny sentence-transformers model made in the test session (random weights, two layers, no download), and
a corpus of one bundled speech, without vector files: nothing anywhere holds the tiny model's vectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR

PROMPTS = {"query": "问：", "document": "文："}
SPEECH = "003_43aee00df7e627f5.txt"


@pytest.fixture
def one_speech(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / SPEECH, data)
    return data


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BERT of width 32 over the bundled corpus's characters, mean-pooled and normalised, with query and
    document prompts in its sentence-transformers config, saved as a folder the way the hub has models."""
    pytest.importorskip("sentence_transformers", reason="the models extra is not installed")
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizer

    base = tmp_path_factory.mktemp("tiny-bert")
    text = "".join(path.read_text("utf-8") for path in DATA_DIR.glob("*.txt")) + "".join(PROMPTS.values())
    characters = sorted({ch for ch in text if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters]
    BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(base)
    torch.manual_seed(7)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(base)
    folder = tmp_path_factory.mktemp("models") / "tiny-zh"
    transformer = Transformer(str(base), max_seq_length=512)
    model = SentenceTransformer(modules=[transformer, Pooling(32, "mean"), Normalize()], prompts=PROMPTS, device="cpu")
    model.save(str(folder))
    return folder
