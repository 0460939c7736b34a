"""Hits → Telegram HTML a reader can take in: title, 第N段, the passage cropped around its answer.

Only presentation lives here: every span to mark comes with the Hit from the
retrieval layer. Every piece of corpus or user text is escaped, and a
message never exceeds Telegram's 4096 characters. Each message is written in
the reader's script by a Writer (bot.view.script) once its marks are in place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from bot.view.script import SIMPLIFIED, Writer
from retrieval.ingest.chunking import Chunk, sentence_spans
from retrieval.results import Hit

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


@dataclass(frozen=True)
class Marks:
    """What to mark in a passage: its answering sentence (underlined) and the question's words (bold)."""

    best: tuple[int, int]
    terms: Sequence[tuple[int, int]] = ()


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


def passage_html(hit: Hit, number: int, writer: Writer = SIMPLIFIED, note: str = "") -> str:
    """One result: title and 第N段, the passage cropped around its answer, its copies, a note on its text."""
    heading = f"<b>{number}. {escape(hit.speech_title, quote=False)}</b> · 第{hit.position}段"
    window = crop_window(hit.text, hit.best_span, hit.term_spans)
    body = marked_html(hit.text, window, hit.best_span, hit.term_spans)
    lines = [heading, body]
    if hit.also_in:
        others = "；".join(f"{escape(r.speech_title, quote=False)} 第{r.position}段" for r in hit.also_in[:4])
        more = f" 等{len(hit.also_in)}篇" if len(hit.also_in) > 4 else ""
        lines.append(f"<i>同一段落亦见：{others}{more}</i>")
    if note:
        lines.append(f"<i>{escape(note, quote=False)}</i>")
    return writer.html("\n".join(lines))


UNSURE_NOTE = "没有找到直接回答，最接近的是："


def answer_html(
    question: str,
    hits: Sequence[Hit],
    first_number: int = 1,
    note: str = "",
    unsure: bool = False,
    writer: Writer = SIMPLIFIED,
    notes: Sequence[str] = (),
) -> str:
    """The reply to a question: its passages (each with its note), numbered from first_number, within the limit.

    `unsure`: the gate doubts the corpus answers this; the passages are offered as the closest found."""
    header = f"🔎 <b>{escape(_shorten(question, 60), quote=False)}</b>"
    parts = [writer.html(header)] + ([writer.html(f"<i>{escape(note, quote=False)}</i>")] if note else [])
    if unsure:
        parts.append(writer.html(f"<i>{UNSURE_NOTE}</i>"))
    for offset, hit in enumerate(hits):
        block = passage_html(hit, first_number + offset, writer, notes[offset] if offset < len(notes) else "")
        if len("\n\n".join([*parts, block])) > MESSAGE_LIMIT:
            break
        parts.append(block)
    return "\n\n".join(parts)


def places_note(places: Sequence[str]) -> str:
    """The line over an answer to a question naming a place the speeches do not cover beside one they do."""
    return f"这些讲话没有谈到{'、'.join(places)}。" if places else ""


def no_answer_html(
    question: str,
    note: str = "",
    writer: Writer = SIMPLIFIED,
    places: Sequence[str] = (),
    elsewhere: Sequence[Hit] = (),
) -> str:
    """The corpus does not speak about this: say so, and say what it does speak about. With `places` (the
    places asked that no speech speaks for) say that plainly, and offer the closest passages as what other
    places did, each labelled with the place its speech speaks for."""
    if places:
        asked = "、".join(places)
        lines = [f"这些讲话没有谈到{asked}的情况，不能回答关于{asked}的问题。"]
        if elsewhere:
            lines.append(f"<i>别处讲话里相近的内容（说的不是{asked}）：</i>")
        for hit in elsewhere:
            where = escape("、".join(hit.speech_places) or "未写明地方", quote=False)
            source = f"{escape(hit.speech_title, quote=False)} · 第{hit.position}段"
            lines.append(f"• <b>{where}</b>（{source}）：{escape(_shorten(hit.best_sentence, 120), quote=False)}")
        return writer.html((f"<i>{escape(note, quote=False)}</i>\n" if note else "") + "\n".join(lines))
    return writer.html(
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


def _passage_html(chunk: Chunk, text: str, marks: Marks | None) -> str:
    """A whole passage in a reading view; the one the reader came from marked."""
    if marks is None:
        return escape(text, quote=False)
    return marked_html(text, (0, len(text)), marks.best, marks.terms)


def speech_page_html(
    title: str,
    source_file: str,
    page: Sequence[Chunk],
    number: int,
    count: int,
    writer: Writer = SIMPLIFIED,
    focus: tuple[str, Marks] | None = None,
    texts: dict[str, str] | None = None,
    note: str = "",
) -> str:
    """One page of a speech; `focus` (a passage id and its marks) is pointed at with ▶ and marked.

    `texts` gives the text to show for a passage when it is not its stored text (words read back).
    """
    heading = (
        f"📄 <b>{escape(title, quote=False)}</b>（第 {number}/{count} 页）\n<i>{escape(source_file, quote=False)}</i>"
    )
    if note:
        heading += f"\n<i>{escape(note, quote=False)}</i>"
    blocks = []
    for chunk in page:
        text = (texts or {}).get(chunk.id, chunk.text)
        if focus is not None and chunk.id == focus[0]:
            blocks.append(f"<b>▶ 第{chunk.paragraph}段</b>\n{_passage_html(chunk, text, focus[1])}")
        else:
            blocks.append(escape(text, quote=False))
    return _fit(writer.html(f"{heading}\n\n" + "\n\n".join(blocks)))


def context_html(
    title: str,
    around: Sequence[Chunk],
    focus_id: str,
    writer: Writer = SIMPLIFIED,
    marks: Marks | None = None,
    texts: dict[str, str] | None = None,
    note: str = "",
) -> str:
    """A passage with the paragraphs before and after it; the passage pointed at with ▶ and its answer marked
    (the whole passage in bold when there is no question to mark it by)."""
    heading = f"📖 <b>{escape(title, quote=False)}</b> · 上下文"
    parts = [heading + (f"\n<i>{escape(note, quote=False)}</i>" if note else "")]
    for chunk in around:
        text = (texts or {}).get(chunk.id, chunk.text)
        label = f"第{chunk.paragraph}段"
        if chunk.id != focus_id:
            parts.append(f"{label}\n{escape(text, quote=False)}")
        elif marks is None:
            parts.append(f"<b>▶ {label}</b>\n<b>{escape(text, quote=False)}</b>")
        else:
            parts.append(f"<b>▶ {label}</b>\n{_passage_html(chunk, text, marks)}")
    return _fit(writer.html("\n\n".join(parts)))


def source_html(title: str, chunk: Chunk, writer: Writer, note: str) -> str:
    """A passage exactly as its source file has it (script and words), the labels in the reader's script."""
    label = writer.words(f"原文 · 第{chunk.paragraph}段")
    parts = [f"📜 <b>{escape(title, quote=False)}</b> · {escape(label, quote=False)}"]
    if note:
        parts.append(f"<i>{escape(writer.words(note), quote=False)}</i>")
    parts.append(escape(chunk.text, quote=False))
    return _fit("\n".join(parts))


SPEECHES_PER_PAGE = 30


@dataclass(frozen=True)
class SpeechRow:
    """A line of the speech list."""

    speech_id: str
    title: str
    source_title: str  # the source's own title when the shown one was derived from the text, else ""
    file_name: str
    paragraphs: int
    copy_of: str = ""  # the id of the speech this one repeats, if any


def speeches_html(rows: Sequence[SpeechRow], page: int, writer: Writer = SIMPLIFIED, heading: str = "") -> str:
    """One page (0-based) of the speech list: id, title (and the source's own), file, copies flagged."""
    count = max(1, -(-len(rows) // SPEECHES_PER_PAGE))
    lines = [
        heading or f"📚 <b>讲话列表</b>（共 {len(rows)} 篇，第 {page + 1}/{count} 页）",
        "发送 <code>/speech 编号</code> 阅读全文（编号开头几位即可）。",
        "",
    ]
    for row in rows[page * SPEECHES_PER_PAGE : (page + 1) * SPEECHES_PER_PAGE]:
        line = f"<code>{escape(row.speech_id, quote=False)}</code>  {escape(row.title, quote=False)}"
        line += f"（{row.paragraphs}段）"
        details = [escape(row.file_name, quote=False)]
        if row.source_title:
            details.insert(0, f"原题：{escape(row.source_title, quote=False)}")
        if row.copy_of:
            details.append(f"⚠️ 与 {escape(row.copy_of, quote=False)} 重复")
        lines.append(f"{line}\n    <i>{' · '.join(details)}</i>")
    return _fit(writer.html("\n".join(lines)))


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
