"""Scoring a retriever on questions with answer spans, as the team's eval script does.

A result answers a question when, both sides folded the same way (pinyin
annotations out, NFKC, Traditional → Simplified, only letters and digits
kept), one of the question's answer spans stands in the result's text.
Questions with no spans are off-topic: the right reply is no result.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc

PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüê]+\)", re.I)
_T2S = opencc.OpenCC("t2s")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    difficulty: str = ""
    script: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_questions(path: Path) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions.append(
                Question(
                    row["id"],
                    row["question"],
                    tuple(row.get("answers", ())),
                    row.get("difficulty", ""),
                    row.get("script", ""),
                )
            )
    return questions


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", PINYIN.sub("", text))
    return "".join(ch for ch in _T2S.convert(text) if ch.isalnum())


def answers(text: str, question: Question) -> bool:
    folded = norm(text)
    return any(span in folded for span in map(norm, question.answers) if span)


def first_answer_rank(texts: Sequence[str], question: Question, depth: int = 10) -> int | None:
    """1-based rank of the first result that answers, None if none in the top `depth`."""
    for rank, text in enumerate(texts[:depth], start=1):
        if answers(text, question):
            return rank
    return None


def score(questions: Sequence[Question], results: Sequence[Sequence[str]]) -> dict[str, float | int | None]:
    """The eval script's figures, named and rounded as it prints them, from each question's result
    texts (best first; an empty list means the question was rejected)."""
    answerable = [(q, r) for q, r in zip(questions, results, strict=True) if q.answerable]
    offtopic = [r for q, r in zip(questions, results, strict=True) if not q.answerable]
    ranks = [first_answer_rank(r, q) for q, r in answerable]
    count = max(len(answerable), 1)
    figures: dict[str, float | int | None] = {
        f"recall@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / count, 4) for k in (1, 3, 5, 10)
    }
    figures["mrr@10"] = round(sum(1 / r for r in ranks if r is not None) / count, 4)
    figures["offtopic_rejected"] = round(sum(1 for r in offtopic if not r) / len(offtopic), 4) if offtopic else None
    figures["answerable_refused"] = round(sum(1 for _, r in answerable if not r) / count, 4)
    lengths = sorted(len(t) for r in results for t in r[:3])
    figures["passage_chars_p50"] = lengths[len(lengths) // 2] if lengths else None
    figures["passage_chars_max"] = lengths[-1] if lengths else None
    figures["answerable"] = len(answerable)
    figures["offtopic"] = len(offtopic)
    return figures


def figures_line(figures: dict[str, float | int | None]) -> str:
    return " ".join(f"{k}={v}" for k, v in figures.items())
