"""Hits → Telegram HTML a reader can take in: title, 第N段, the passage cropped around its answer.

Only presentation lives here: every span to mark comes with the Hit from the
retrieval layer. Every piece of corpus or user text is escaped, and a
message never exceeds Telegram's 4096 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from retrieval.chunking import Chunk, sentence_spans
from retrieval.index import Hit

MESSAGE_LIMIT = 4096
CROP_CHARS = 350
ELLIPSIS = "…"


def crop_window(
    text: str, best: tuple[int, int], bold: Sequence[tuple[int, int]] = (), limit: int = CROP_CHARS
) -> tuple[int, int]:
    """Whole sentences around the best one, up to `limit` characters.

    A best sentence longer than that (speeches string clauses with commas) is
    cut to the run of clauses holding the most matched terms.
    """
    if len(text) <= limit:
        return 0, len(text)
    start, end = best
    if end - start > limit:
        return _densest_clauses(text, best, bold, limit)
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


def _densest_clauses(
    text: str, sentence: tuple[int, int], bold: Sequence[tuple[int, int]], limit: int
) -> tuple[int, int]:
    start, end = sentence
    clause_starts = [start] + [i + 1 for i in range(start, end - 1) if text[i] in "，,；;、："]

    def marked(a: int) -> int:
        b = min(a + limit, end)
        return sum(max(0, min(b, y) - max(a, x)) for x, y in bold)

    first = max(clause_starts, key=lambda a: (marked(a), -a))
    return first, min(first + limit, end)


def marked_html(text: str, window: tuple[int, int], best: tuple[int, int], bold: Sequence[tuple[int, int]]) -> str:
    """Escaped text of the window: the best sentence underlined, matched terms bold, runs never mis-nested."""
    start, end = window
    strong_at = [False] * len(text)
    for a, b in bold:
        strong_at[a:b] = [True] * (b - a)
    runs: list[str] = []
    k = start
    while k < end:
        underline = best[0] <= k < best[1]
        strong = strong_at[k]
        j = k + 1
        while j < end and (best[0] <= j < best[1]) == underline and strong_at[j] == strong:
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
    window = crop_window(hit.text, hit.best_span, hit.term_spans)
    body = marked_html(hit.text, window, hit.best_span, hit.term_spans)
    lines = [heading, body]
    if hit.also_in:
        others = "；".join(f"{escape(r.speech_title, quote=False)} 第{r.position}段" for r in hit.also_in[:4])
        more = f" 等{len(hit.also_in)}篇" if len(hit.also_in) > 4 else ""
        lines.append(f"<i>同一段落亦见：{others}{more}</i>")
    return "\n".join(lines)


UNSURE_NOTE = "没有找到直接回答，最接近的是："


def answer_html(question: str, hits: Sequence[Hit], first_number: int = 1, note: str = "", unsure: bool = False) -> str:
    """The reply to a question: its passages, numbered from first_number, within Telegram's limit.

    `unsure`: the gate doubts the corpus answers this; the passages are offered as the closest found."""
    header = f"🔎 <b>{escape(_shorten(question, 60), quote=False)}</b>"
    parts = [header] + ([f"<i>{escape(note, quote=False)}</i>"] if note else [])
    if unsure:
        parts.append(f"<i>{UNSURE_NOTE}</i>")
    for offset, hit in enumerate(hits):
        block = passage_html(hit, first_number + offset)
        if len("\n\n".join([*parts, block])) > MESSAGE_LIMIT:
            break
        parts.append(block)
    return "\n\n".join(parts)


def no_answer_html(question: str, note: str = "") -> str:
    """The corpus does not speak about this: say so, and say what it does speak about."""
    return (
        (f"<i>{escape(note, quote=False)}</i>\n" if note else "")
        + f"这些讲话没有谈到“{escape(_shorten(question, 60), quote=False)}”。\n"
        "我能回答的是讲话里关于质量工作的问题：质量强市、政府质量奖、食品和特种设备安全、标准化、"
        "工程质量、质监部门的工作等。换个说法再问，或发送 /speeches 浏览全部讲话。"
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


# --- reading --------------------------------------------------------------

PAGE_CHARS = 3000


def speech_pages(chunks: Sequence[Chunk], limit: int = PAGE_CHARS) -> list[list[Chunk]]:
    """A speech's passages grouped into pages that fit a message, in reading order."""
    pages: list[list[Chunk]] = [[]]
    size = 0
    for chunk in chunks:
        if pages[-1] and size + len(chunk.text) > limit:
            pages.append([])
            size = 0
        pages[-1].append(chunk)
        size += len(chunk.text) + 2
    return pages if pages[0] else []


def speech_page_html(title: str, source_file: str, page: list[Chunk], number: int, count: int) -> str:
    heading = (
        f"📄 <b>{escape(title, quote=False)}</b>（第 {number}/{count} 页）\n"
        f"<i>{escape(source_file, quote=False)}</i>"
    )
    body = "\n\n".join(escape(c.text, quote=False) for c in page)
    return _fit(f"{heading}\n\n{body}")


def context_html(title: str, around: Sequence[Chunk], focus_id: str) -> str:
    """A passage with the paragraphs before and after it; the passage itself in bold."""
    parts = [f"📖 <b>{escape(title, quote=False)}</b> · 上下文"]
    for chunk in around:
        text = escape(chunk.text, quote=False)
        label = f"第{chunk.paragraph}段"
        parts.append(f"<b>▶ {label}</b>\n<b>{text}</b>" if chunk.id == focus_id else f"{label}\n{text}")
    return _fit("\n\n".join(parts))


SPEECHES_PER_PAGE = 30


def speeches_html(rows: Sequence[tuple[str, str, str, int]], page: int) -> str:
    """One page (0-based) of the speech list."""
    count = max(1, -(-len(rows) // SPEECHES_PER_PAGE))
    lines = [
        f"📚 <b>讲话列表</b>（共 {len(rows)} 篇，第 {page + 1}/{count} 页）",
        "发送 <code>/speech 编号</code> 阅读全文。",
        "",
    ]
    for speech_id, title, _source, paragraphs in rows[page * SPEECHES_PER_PAGE : (page + 1) * SPEECHES_PER_PAGE]:
        lines.append(f"<code>{escape(speech_id, quote=False)}</code>  {escape(title, quote=False)}（{paragraphs}段）")
    return _fit("\n".join(lines))


def _fit(html: str) -> str:
    """Callers build pages under the limit; this guards the limit for any text they were given."""
    if len(html) <= MESSAGE_LIMIT:
        return html
    cut = html[: MESSAGE_LIMIT - 1]
    open_tag = cut.rfind("<")
    if open_tag > cut.rfind(">"):
        cut = cut[:open_tag]
    return _close_tags(cut) + ELLIPSIS


def _close_tags(html: str) -> str:
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)([a-z]+)[^>]*>", html):
        if closing and stack and stack[-1] == name:
            stack.pop()
        elif not closing:
            stack.append(name)
    amp = html.rfind("&")
    if amp > html.rfind(";"):
        html = html[:amp]
    return html + "".join(f"</{name}>" for name in reversed(stack))
