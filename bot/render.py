"""Hits → Telegram HTML a reader can take in: title, 第N段, the passage cropped around its answer.

Only presentation lives here: every span to mark comes with the Hit from the
retrieval layer. Every piece of corpus or user text is escaped, and a
message never exceeds Telegram's 4096 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from retrieval.chunking import sentence_spans
from retrieval.index import Hit

MESSAGE_LIMIT = 4096
CROP_CHARS = 350
ELLIPSIS = "…"


def crop_window(text: str, best: tuple[int, int], limit: int = CROP_CHARS) -> tuple[int, int]:
    """Whole sentences around the best one, up to `limit` characters; the best sentence alone if longer."""
    if len(text) <= limit:
        return 0, len(text)
    start, end = best
    if end - start >= limit:
        return start, start + limit
    spans = sentence_spans(text)
    before = [s for s in spans if s[1] <= start][::-1]
    after = [s for s in spans if s[0] >= end]
    while before or after:
        grew = False
        if after and after[0][1] - start <= limit:
            end = after.pop(0)[1]
            grew = True
        if before and end - before[0][0] <= limit:
            start = before.pop(0)[0]
            grew = True
        if not grew:
            break
    return start, end


def marked_html(text: str, window: tuple[int, int], best: tuple[int, int], bold: Sequence[tuple[int, int]]) -> str:
    """Escaped text of the window: the best sentence underlined, matched terms bold, runs never mis-nested."""
    start, end = window
    runs: list[str] = []
    k = start
    while k < end:
        underline = best[0] <= k < best[1]
        strong = any(a <= k < b for a, b in bold)
        j = k + 1
        while j < end and (best[0] <= j < best[1]) == underline and any(a <= j < b for a, b in bold) == strong:
            j += 1
        piece = escape(text[k:j], quote=False)
        if strong:
            piece = f"<b>{piece}</b>"
        if underline:
            piece = f"<u>{piece}</u>"
        runs.append(piece)
        k = j
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    return prefix + "".join(runs) + suffix


def passage_html(hit: Hit, number: int) -> str:
    heading = f"<b>{number}. {escape(hit.speech_title, quote=False)}</b> · 第{hit.position}段"
    window = crop_window(hit.text, hit.best_span)
    body = marked_html(hit.text, window, hit.best_span, hit.term_spans)
    lines = [heading, body]
    if hit.also_in:
        others = "；".join(f"{escape(r.speech_title, quote=False)} 第{r.position}段" for r in hit.also_in[:4])
        more = f" 等{len(hit.also_in)}篇" if len(hit.also_in) > 4 else ""
        lines.append(f"<i>同一段落亦见：{others}{more}</i>")
    return "\n".join(lines)


def answer_html(question: str, hits: Sequence[Hit], first_number: int = 1, note: str = "") -> str:
    """The reply to a question: its passages, numbered from first_number, within Telegram's limit."""
    header = f"🔎 <b>{escape(_shorten(question, 60), quote=False)}</b>"
    parts = [header] + ([f"<i>{escape(note, quote=False)}</i>"] if note else [])
    for offset, hit in enumerate(hits):
        block = passage_html(hit, first_number + offset)
        if len("\n\n".join([*parts, block])) > MESSAGE_LIMIT:
            break
        parts.append(block)
    return "\n\n".join(parts)


def no_answer_html(question: str) -> str:
    return (
        f"没有找到与“{escape(_shorten(question, 60), quote=False)}”相关的讲话段落。\n"
        "可以换个说法、用讲话里可能出现的词再问一次，或发送 /speeches 浏览全部讲话。"
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
