"""The speechbot command as a user and score.py run it, in a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts the command in a fresh interpreter

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FIELDS = {
    "rank",
    "score",
    "chunk_id",
    "speech_id",
    "speech_title",
    "source_title",
    "source_file",
    "paragraph",
    "text",
    "best_sentence",
    "answer",
    "answer_paragraph",
    "matched_terms",
    "also_in",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "data"
    data.mkdir()
    for name in ("000_7fe1eca08c9865c2.txt", "004_342c7815cd97eb2a.txt"):
        shutil.copy(DATA_DIR / name, data)
    shutil.copytree(DATA_DIR / "embeddings", data / "embeddings")  # the corpus's vectors, as shipped
    return {**os.environ, "SPEECHBOT_DATA_DIR": str(data), "SPEECHBOT_DB": str(folder / "s.sqlite3")}


def speechbot(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_search_answers_one_json_line_per_stdin_query_in_order(env: dict[str, str]) -> None:
    odd = [
        "区长质量奖的奖金是多少",
        "",
        "   ",
        "😀" * 10,
        "<script>alert(1)</script>",
        "'; DROP TABLE chunks; --",
        "金華市質量強鎮試點",
        "\x01\x02质量",
        "质量" * 50_000,
    ]
    done = speechbot(env, "search", "--json", "--top-k", "3", stdin="".join(q + "\n" for q in odd))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["query"] for a in answers] == odd
    first = answers[0]["results"]
    assert 1 <= len(first) <= 3 and set(first[0]) == FIELDS
    assert "50万" in first[0]["best_sentence"] and first[0]["speech_id"] == "000-1"
    assert answers[1]["results"] == [] and answers[2]["results"] == []
    # 004's two speeches share a numbered title, so each is titled from its own text, in its own script
    first = answers[6]["results"][0]
    assert first["speech_title"].startswith("金華市：全市質量強市工作推進會講話") and first["source_file"] == "004.txt"
    assert all("_342c" not in line for line in done.stdout.splitlines())
    simplified = speechbot(env, "search", "--json", "--script", "simplified", "金華市質量強鎮試點")
    assert json.loads(simplified.stdout)["results"][0]["speech_title"].startswith("金华市：全市质量强市工作推进会讲话")


def test_speeches_lists_id_title_file_and_paragraphs(env: dict[str, str]) -> None:
    done = speechbot(env, "speeches")
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [r[0] for r in rows] == ["000-1", "004-1", "004-2"]
    # files by the names an admin knows; each title wholly in its speech's script
    assert rows[1][1].startswith("金華市：全市質量強市工作推進會講話")
    assert rows[1][2] == "004.txt" and int(rows[1][3]) > 5
    assert rows[0][2] == "000.txt" and "_" not in done.stdout


def test_ask_shows_the_passage_with_its_speech_or_says_nothing_was_found(env: dict[str, str]) -> None:
    found = speechbot(env, "ask", "区长质量奖的奖金是多少")
    assert "答：……现在我们的区长质量奖的奖金是50万……（《质量工作会议上的讲话稿》第6段）" in found.stdout
    assert "1. 质量工作会议上的讲话稿 · 第" in found.stdout
    missing = speechbot(env, "ask", "红烧肉怎么做")
    assert "没有谈到" in missing.stdout
    empty = speechbot(env, "ask", "  ")
    assert empty.returncode == 2 and "请输入一个问题" in empty.stderr


def test_reindex_reports_counts_and_a_broken_data_dir_keeps_the_index(env: dict[str, str], tmp_path: Path) -> None:
    done = speechbot(env, "reindex")
    assert done.returncode == 0 and "indexed 3 speeches" in done.stdout
    failed = speechbot({**env, "SPEECHBOT_DATA_DIR": str(tmp_path / "missing")}, "reindex")
    assert failed.returncode == 1 and "does not exist" in failed.stderr and "Traceback" not in failed.stderr
    assert len(speechbot(env, "speeches").stdout.splitlines()) == 3


def test_add_indexes_new_files_and_refuses_copies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    shutil.copytree(DATA_DIR / "embeddings", data / "embeddings")
    env = {**os.environ, "SPEECHBOT_DATA_DIR": str(data), "SPEECHBOT_DB": str(tmp_path / "s.sqlite3")}
    new = tmp_path / "jiliang.txt"
    new.write_bytes(
        "全县计量工作会议讲话\n同志们：\n今年推广智慧计量监管平台，接入计量器具三千二百台。\n".encode("gb18030")
    )
    added = speechbot(env, "add", str(new))
    assert added.returncode == 0, added.stderr
    assert "added jiliang-1\t全县计量工作会议讲话\tjiliang.txt" in added.stdout and (data / "jiliang.txt").is_file()

    copy = tmp_path / "copy.txt"
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", copy)
    refused = speechbot(env, "add", str(copy))
    assert refused.returncode == 1 and "already holds this text as 003-1" in refused.stderr
    assert sorted(p.name for p in data.iterdir()) == ["003_43aee00df7e627f5.txt", "embeddings", "jiliang.txt"]


def test_search_json_says_how_sure_it_is_and_rejects_with_an_empty_list(env: dict[str, str]) -> None:
    done = speechbot(env, "search", "--json", "--top-k", "2", stdin="区长质量奖的奖金是多少\n公司年会怎么组织\n")
    sure, rejected = (json.loads(line) for line in done.stdout.splitlines())
    assert sure["confidence"] == "high" and sure["results"]
    assert rejected["confidence"] == "none" and rejected["results"] == []


SCORE_PY = Path(__file__).resolve().parents[2] / "shared" / "eval" / "score.py"


@pytest.mark.skipif(not SCORE_PY.is_file(), reason="the team's score.py is not beside this checkout")
def test_eval_prints_what_the_teams_score_script_prints(env: dict[str, str], tmp_path: Path) -> None:
    from retrieval.ranking.ranker import TRAINING_QUESTIONS

    questions = tmp_path / "q.jsonl"
    lines = TRAINING_QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join(lines[:6] + lines[40:52]) + "\n", encoding="utf-8")
    ours = speechbot(env, "eval", str(questions))
    theirs = subprocess.run(
        [
            sys.executable,
            str(SCORE_PY),
            str(questions),
            "--",
            sys.executable,
            "-m",
            "bot.cli",
            "search",
            "--json",
            "--top-k",
            "10",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == theirs.stdout.strip() and "recall@1=" in ours.stdout


def test_add_into_an_empty_or_new_folder_starts_a_corpus(tmp_path: Path) -> None:
    for data in (tmp_path / "empty", tmp_path / "new" / "data"):
        if data.name == "empty":
            data.mkdir()
        env = {**os.environ, "SPEECHBOT_DATA_DIR": str(data), "SPEECHBOT_DB": str(tmp_path / f"{data.name}.sqlite3")}
        added = speechbot(env, "add", str(DATA_DIR / "003_43aee00df7e627f5.txt"))
        assert added.returncode == 0, added.stderr
        assert "added 003-1" in added.stdout and "indexed 1 speeches" in added.stdout
        assert "50万" not in speechbot(env, "ask", "首席质量官").stdout  # only the new corpus is searched
        assert len(speechbot(env, "speeches").stdout.splitlines()) == 1


def test_every_subcommand_help_describes_its_arguments() -> None:
    for command, words in [
        ("ask", ["question", "Traditional", "--top-k"]),
        ("add", ["FILE", "GB18030", "empty"]),
        ("search", ["stdin", "--top-k"]),
        ("export-log", ["--out", "CSV"]),
        ("chat", ["#N"]),
        ("run", ["TELEGRAM_BOT_TOKEN"]),
        ("reindex", ["rebuild"]),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0 and all(w in done.stdout for w in words), (command, done.stdout)


def test_ask_answers_in_the_askers_script(env: dict[str, str]) -> None:
    traditional = speechbot(env, "ask", "區長質量獎的獎金是多少")
    assert "區長質量獎的獎金是50萬" in traditional.stdout
