"""What a user sends → the question to search, read once at the service's door (SearchService.search).

Everything after the door trusts a question's length: the lexical index, the candidates and the ranker read
it whole, in linear time. The embedder alone cuts further (its cost is quadratic; see ranking/retriever.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A question longer than this is searched on its first part, and the reply says so.
MAX_QUESTION_CHARS = 500
# A character repeated past this adds nothing to a question but work: 哈哈哈哈哈 → 哈哈哈. Digits are left
# alone, so 1000000 stays a million.
MAX_REPEATS = 3
_REPEATED = re.compile(rf"(\D)\1{{{MAX_REPEATS},}}")


@dataclass(frozen=True)
class Question:
    text: str  # as searched: control characters out, spaces folded, long runs cut, at most MAX_QUESTION_CHARS
    shortened: bool = False  # only the first MAX_QUESTION_CHARS were searched (a reply says so)


def read_question(text: str) -> Question:
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    cleaned = _REPEATED.sub(lambda run: run.group(1) * MAX_REPEATS, cleaned)
    if len(cleaned) > MAX_QUESTION_CHARS:
        return Question(cleaned[:MAX_QUESTION_CHARS], shortened=True)
    return Question(cleaned)
