"""What a user sends → the question to search (shared by the bot and the command line)."""

from __future__ import annotations

import re

# A question longer than this is searched on its first part, and the reply says so.
MAX_QUESTION_CHARS = 500
# A character repeated past this adds nothing to a question but work: 哈哈哈哈哈 → 哈哈哈. Digits are left
# alone, so 1000000 stays a million.
MAX_REPEATS = 3
_REPEATED = re.compile(rf"(\D)\1{{{MAX_REPEATS},}}")


def prepare_question(text: str) -> tuple[str, str]:
    """The question as searched (control characters out, spaces folded, long runs of one character cut),
    and a note when it was shortened."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    cleaned = _REPEATED.sub(lambda run: run.group(1) * MAX_REPEATS, cleaned)
    if len(cleaned) > MAX_QUESTION_CHARS:
        return cleaned[:MAX_QUESTION_CHARS], f"问题较长，只按前 {MAX_QUESTION_CHARS} 个字检索。"
    return cleaned, ""
