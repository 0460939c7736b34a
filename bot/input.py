"""What a user sends → the question to search (shared by the bot and the command line)."""

from __future__ import annotations

# A question longer than this is searched on its first part, and the reply says so.
MAX_QUESTION_CHARS = 500


def prepare_question(text: str) -> tuple[str, str]:
    """The question as searched (control characters out, spaces folded), and a note when it was shortened."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(cleaned) > MAX_QUESTION_CHARS:
        return cleaned[:MAX_QUESTION_CHARS], f"问题较长，只按前 {MAX_QUESTION_CHARS} 个字检索。"
    return cleaned, ""
