"""The embedding process, end to end with the tiny model on a store with no cached vectors: it runs at idle
priority, stops cleanly on close, `speechbot embed` waits for every vector, and a one-shot command that does
not wait says how many passages lack one."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from pathlib import Path

import pytest

from bot import cli
from retrieval.semantic.choice import EmbedderChoice, parse_embedder
from retrieval.semantic.filling import EmbeddingProgress
from retrieval.semantic.vectors import bundle_path, corpus_texts, read_bundle
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.semantic.faults import HeldPassages

pytest.importorskip("sentence_transformers", reason="the models extra is not installed")


def tiny_choice(folder: Path) -> EmbedderChoice:
    return parse_embedder(f"sentence-transformers:{folder}")


def test_complete_means_listed_and_done() -> None:
    assert not EmbeddingProgress().complete  # (0, 0) before listing: nothing is known yet
    assert EmbeddingProgress(0, 0, listed=True).complete
    assert not EmbeddingProgress(2, 5, listed=True).complete
    assert not EmbeddingProgress(5, 5, listed=True, failed="OSError: disk full").complete


async def test_the_fill_process_runs_at_idle_priority_and_fills_the_store(
    tiny_model: Path, one_speech: Path, tmp_path: Path
) -> None:
    tiny = tiny_choice(tiny_model)
    gate = multiprocessing.get_context("spawn").Event()
    held = HeldPassages(tiny.kind, tiny.name, tiny.precision, gate=gate)
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, one_speech, held)
        await service.start()
        await service.wait_for_model()
        filler = service.filler
        assert filler is not None
        await asyncio.wait_for(filler.child_started.wait(), 120)
        pid = filler.child_pid
        assert pid is not None and pid != os.getpid()
        if hasattr(os, "SCHED_IDLE"):
            assert os.sched_getscheduler(pid) == os.SCHED_IDLE
        else:
            assert os.getpriority(os.PRIO_PROCESS, pid) == 19
        assert service.embedding_progress.listed and not service.embedding_progress.complete
        assert service.missing_vectors == len(service.index.chunks)  # words answer meanwhile

        gate.set()
        await service.wait_for_vectors()
        keys = {t.key for t in corpus_texts(service.index.chunks)}
        assert service.embedding_progress == EmbeddingProgress(len(keys), len(keys), listed=True)
        assert set(await store.vectors(tiny.model_id)) == keys
        assert service.retriever.vectors is not None and service.retriever.vectors.complete
        assert service.missing_vectors == 0 and filler.child_exitcode == 0
        await service.close()


async def test_close_stops_the_fill_process_after_its_batch(tiny_model: Path, one_speech: Path, tmp_path: Path) -> None:
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, one_speech, tiny_choice(tiny_model))
        await service.start()
        await service.wait_for_model()
        filler = service.filler
        assert filler is not None
        await asyncio.wait_for(filler.child_started.wait(), 120)
        await service.close()
        assert filler.child_exitcode == 0  # it stopped (or had finished): not ended by a signal
        progress = service.embedding_progress
        assert not progress.failed and progress.listed
        assert len(await store.vectors(tiny_choice(tiny_model).model_id)) >= progress.done  # each batch kept


def test_embed_waits_for_every_vector_on_an_empty_cache(
    tiny_model: Path,
    one_speech: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny = tiny_choice(tiny_model)
    monkeypatch.setenv("SPEECHBOT_EMBEDDER", tiny.spec)
    db = tmp_path / "s.sqlite3"
    assert cli.main(["--data-dir", str(one_speech), "--db", str(db), "embed"]) == 0

    async def stored() -> tuple[set[int], set[int]]:
        async with Store(db) as store:
            service = SearchService(store, one_speech, fill=False)  # words only: just the index's texts
            await service.start()
            return {t.key for t in corpus_texts(service.index.chunks)}, set(await store.vectors(tiny.model_id))

    keys, cached = asyncio.run(stored())
    assert cached == keys and set(read_bundle(bundle_path(one_speech, tiny.model_id))) == keys
    assert f"wrote {len(keys)} vectors" in capsys.readouterr().out


def test_a_one_shot_command_says_how_many_passages_lack_vectors_or_waits(
    tiny_model: Path,
    one_speech: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SPEECHBOT_EMBEDDER", tiny_choice(tiny_model).spec)
    where = ["--data-dir", str(one_speech), "--db", str(tmp_path / "s.sqlite3")]
    assert cli.main([*where, "search", "农业标准化示范推广体系"]) == 0
    told = [line for line in capsys.readouterr().err.splitlines() if "no meaning vector" in line]
    assert len(told) == 1 and told[0].startswith("speechbot: ") and "--wait-vectors" in told[0]
    count, _, total = told[0].partition("yet: ")[2].partition(",")[0].partition(" of ")
    assert int(count) == int(total) > 0  # nothing embedded: no process was started for a command that does not wait

    assert cli.main([*where, "search", "--wait-vectors", "农业标准化示范推广体系"]) == 0
    assert "no meaning vector" not in capsys.readouterr().err
    assert cli.main([*where, "search", "农业标准化示范推广体系"]) == 0
    assert "no meaning vector" not in capsys.readouterr().err  # the waiting one filled the cache
