"""A meaning model that fails to load: one log line, and the bot keeps answering from words."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.handlers.admin import _semantic_line
from retrieval.semantic.choice import SENTENCE_TRANSFORMERS, EmbedderChoice
from retrieval.semantic.embeddings import Embedder
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR


@dataclass(frozen=True)
class Unreadable(EmbedderChoice):
    """A model whose weights cannot be read (a truncated download, no memory)."""

    def load(self) -> Embedder:
        raise OSError("model.safetensors: file truncated")


async def test_a_model_that_fails_to_load_is_logged_once_and_words_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    choice = Unreadable(SENTENCE_TRANSFORMERS, "/srv/models/broken-model", "fp32")
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data, choice)
        with caplog.at_level("INFO", logger="retrieval.service"):
            await service.start()
            await service.wait_for_vectors()  # returns: the load ended, the service did not
        failures = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(failures) == 1 and "file truncated" in failures[0].getMessage() and not failures[0].exc_info
        assert service.model_state.state == "failed" and "未能加载" in _semantic_line(service)
        found = await service.search("农业标准化示范推广体系", 3)
        assert "农业标准化示范推广体系" in found.hits[0].text
        await service.close()
