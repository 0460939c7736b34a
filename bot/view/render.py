"""Hits → Telegram HTML a reader can take in: title, 第N段, the passage cropped around its answer.

Only presentation lives here: every span to mark comes with the Hit from the
retrieval layer. Every piece of corpus or user text is escaped, and a
message never exceeds Telegram's 4096 characters. Each message is written in
the reader's script by a Writer (bot.view.script) once its marks are in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape, unescape

from bot.view.script import SIMPLIFIED, Writer
from bot.view.shown import note_line
from bot.view.titles import distinct_titles
from retrieval.ingest.chunking import Chunk
from retrieval.question import MAX_QUESTION_CHARS, Question
from retrieval.results import Confidence, Hit, SpeechRef, TextNote

MESSAGE_LIMIT = 4096
# A page of answers fits a phone's screen or two: passages are cut to their answering clause, last
# first, until the page is within this many characters (as the reader sees them).
PAGE_CHARS = 900
ELLIPSIS = "…"
GAP = "……"
MAX_ALSO_IN = 2
# Closing marks a sentence may end with: a clause that stops before only these ends its sentence.
SENTENCE_CLOSE = '。！？；;!?”’"」』）) \n'


@dataclass(frozen=True)
class Marks:
    """What to mark in a passage: its answering sentence (underlined) and its rare matched words (bold)."""

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


def paragraph_label(first: int, last: int) -> str:
    """第3段, or 第3–4段 for a passage that packs short paragraphs."""
    return f"第{first}段" if last <= first else f"第{first}–{last}段"


def passage_html(
    hit: Hit, number: int, writer: Writer = SIMPLIFIED, titles: Mapping[str, str] | None = None, short: bool = False
) -> str:
    """One result: title and 第N段, the passage cut around its answer (to the answering clause when
    `short`), the other speeches holding it, a note when its text is not the source's."""
    titles = titles or {}
    title = titles.get(hit.speech_id, hit.speech_title)
    heading = f"<b>{number}. {escape(title, quote=False)}</b> · {paragraph_label(hit.paragraph, hit.last_paragraph)}"
    window = hit.answer_span if short else hit.excerpt
    if window[1] <= window[0]:
        window = (0, len(hit.text))
    body = marked_html(hit.shown_text, window, hit.best_span, hit.term_spans)
    lines = [heading, body]
    if hit.also_in:
        others = "；".join(
            f"{escape(titles.get(r.speech_id, r.speech_title), quote=False)} 第{r.paragraph}段"
            for r in hit.also_in[:MAX_ALSO_IN]
        )
        more = f" 等{len(hit.also_in)}篇" if len(hit.also_in) > MAX_ALSO_IN else ""
        lines.append(f"<i>同一段落亦见：{others}{more}</i>")
    if note_line(hit.note):
        lines.append(f"<i>{escape(note_line(hit.note), quote=False)}</i>")
    return writer.html("\n".join(lines))


def answer_line(hit: Hit, title: str, writer: Writer = SIMPLIFIED) -> str:
    """答：the clause that answers, and where it stands: 答：……奖金是50万……（《title》第6段）."""
    text = hit.shown_text
    a, b = hit.answer_span
    if b <= a:
        a, b = hit.best_span
    sentence_start, sentence_end = hit.best_span
    while sentence_end > b and text[sentence_end - 1] in SENTENCE_CLOSE:
        sentence_end -= 1
    lead = GAP if a > sentence_start else ""
    tail = GAP if b < sentence_end else ""
    clause = " ".join(text[a:b].split())
    where = f"（《{escape(title, quote=False)}》第{hit.answer_paragraph or hit.paragraph}段）"
    return writer.html(f"<b>答：</b>{lead}{escape(clause, quote=False)}{tail}{where}")


UNSURE_NOTE = "没有找到直接回答，最接近的是："


def reply_titles(hits: Sequence[Hit]) -> dict[str, str]:
    """The titles of a reply's speeches (its passages' and their copies'), no two the same."""
    return distinct_titles([ref for hit in hits for ref in (hit.ref, *hit.also_in)])


def answer_html(
    question: str,
    hits: Sequence[Hit],
    first_number: int = 1,
    note: str = "",
    confidence: Confidence = Confidence.HIGH,
    writer: Writer = SIMPLIFIED,
    limit: int = PAGE_CHARS,
) -> str:
    """The reply to a question: the question as typed, the answer first (when the gate is sure and this is
    the first page), then the passages numbered from first_number, cut until the page fits `limit`.

    A doubtful answer (low confidence) has no answer line: it says so and offers the closest passages."""
    header = f"🔎 <b>{escape(_shorten(question, 60), quote=False)}</b>"  # as typed: never converted
    parts = [header] + ([writer.html(f"<i>{escape(note, quote=False)}</i>")] if note else [])
    titles = reply_titles(hits)
    if confidence is Confidence.LOW:
        parts.append(writer.html(f"<i>{UNSURE_NOTE}</i>"))
    elif hits and first_number == 1:
        parts.append(answer_line(hits[0], titles.get(hits[0].speech_id, hits[0].speech_title), writer))
    short = [False] * len(hits)
    while True:
        blocks = [passage_html(hit, first_number + k, writer, titles, short[k]) for k, hit in enumerate(hits)]
        html = "\n\n".join([*parts, *blocks])
        if visible_length(html) <= limit or all(short):
            break
        short[len(short) - 1 - short[::-1].index(False)] = True  # the last passage still whole is cut
    return _fit(html)


def shortened_note(question: Question) -> str:
    """The note over a reply to a question searched on its first part only (plain text, as places_note)."""
    return f"问题较长，只按前 {MAX_QUESTION_CHARS} 个字检索。" if question.shortened else ""


def places_note(places: Sequence[str]) -> str:
    """The note over an answer to a question naming a place the speeches do not cover beside one they do (plain
    text: answer_html writes notes in the reader's script)."""
    return f"这些讲话没有谈到{'、'.join(places)}。" if places else ""


def no_answer_html(
    question: str,
    note: str = "",
    writer: Writer = SIMPLIFIED,
    places: Sequence[str] = (),
    elsewhere: Sequence[Hit] = (),
) -> str:
    """The corpus does not speak about this: say so (the question as typed), and say what it does speak about.

    With `places` (those asked that no speech speaks for, as typed) it says that plainly, and offers the
    closest passages as what other places did, each labelled with the place its speech speaks for."""
    if places:
        return _uncovered_html(places, elsewhere, note, writer)
    before, after = (
        writer.html("这些讲话没有谈到“"),
        writer.html(
            "”。\n我能回答的是讲话里关于质量工作的问题：质量强市、政府质量奖、食品和特种设备安全、标准化、"
            "工程质量、质监部门的工作等。换个说法再问，或发送 /speeches 浏览全部讲话。"
        ),
    )
    lead = writer.html(f"<i>{escape(note, quote=False)}</i>\n") if note else ""
    return f"{lead}{before}{escape(_shorten(question, 60), quote=False)}{after}"


def _uncovered_html(places: Sequence[str], elsewhere: Sequence[Hit], note: str, writer: Writer) -> str:
    asked = escape("、".join(places), quote=False)
    lines = [
        writer.html("这些讲话没有谈到") + asked + writer.html("的情况，不能回答关于") + asked + writer.html("的问题。")
    ]
    if elsewhere:
        lines.append("<i>" + writer.html("别处讲话里相近的内容（说的不是") + asked + writer.html("）：") + "</i>")
    for hit in elsewhere:
        where = escape("、".join(hit.speech_places) or "未写明地方", quote=False)
        source = f"{escape(hit.speech_title, quote=False)} · 第{hit.paragraph}段"
        sentence = escape(_shorten(hit.best_sentence, 120), quote=False)
        lines.append(writer.html(f"• <b>{where}</b>（{source}）：{sentence}"))
    lead = writer.html(f"<i>{escape(note, quote=False)}</i>\n") if note else ""
    return lead + "\n".join(lines)


CITE_HEADING = "📋 <b>引用</b>（点按下框即可复制）"


def cite_html(
    title: str,
    source_title: str,
    paragraphs: tuple[int, int],
    text: str,
    note: TextNote = TextNote.NONE,
    writer: Writer = SIMPLIFIED,
) -> str:
    """A passage with its source, to paste into a paper: the whole text quoted, then title, the source's own
    title when the shown one was derived, and the paragraph."""
    source = f"——《{title}》{paragraph_label(*paragraphs)}"
    if source_title and source_title != title:
        source += f"（原题《{source_title}》）"
    quoted = f"“{' '.join(text.split())}”\n{source}"
    lines = [
        writer.html("📋 <b>引用</b>（点按下框即可复制）"),
        f"<pre>{escape(writer.text(quoted), quote=False)}</pre>",
    ]
    if note_line(note):
        lines.append(writer.html(f"<i>{escape(note_line(note), quote=False)}</i>"))
    return _fit("\n".join(lines))


def visible_length(html: str) -> int:
    """Characters of the message as the reader sees it (tags out, entities read)."""
    return len(unescape(_TAGS.sub("", html)))


_TAGS = re.compile(r"<[^>]+>")


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
    paragraphs: Mapping[str, tuple[int, int]] | None = None,
) -> str:
    """One page of a speech; `focus` (a passage id and its marks) is pointed at with ▶ and marked.

    `texts` gives the text to show for a passage when it is not its stored text (words read back);
    `paragraphs` the paragraphs each passage spans.
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
            label = paragraph_label(*(paragraphs or {}).get(chunk.id, (chunk.paragraph, chunk.paragraph)))
            blocks.append(f"<b>▶ {label}</b>\n{_passage_html(chunk, text, focus[1])}")
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
    paragraphs: Mapping[str, tuple[int, int]] | None = None,
) -> str:
    """A passage with the paragraphs before and after it; the passage pointed at with ▶ and its answer marked
    (the whole passage in bold when there is no question to mark it by). Each passage is labelled with the
    paragraphs it spans (`paragraphs`, 第1–2段), and paragraphs not shown between two passages are named
    (……第5段略……)."""
    heading = f"📖 <b>{escape(title, quote=False)}</b> · 上下文"
    parts = [heading + (f"\n<i>{escape(note, quote=False)}</i>" if note else "")]
    shown_to = 0
    for chunk in around:
        text = (texts or {}).get(chunk.id, chunk.text)
        first, last = (paragraphs or {}).get(chunk.id, (chunk.paragraph, chunk.paragraph))
        if shown_to and first > shown_to + 1:
            parts.append(f"<i>{GAP}{paragraph_label(shown_to + 1, first - 1)}略{GAP}</i>")
        shown_to = max(shown_to, last)
        label = paragraph_label(first, last)
        if chunk.id != focus_id:
            parts.append(f"{label}\n{escape(text, quote=False)}")
        elif marks is None:
            parts.append(f"<b>▶ {label}</b>\n<b>{escape(text, quote=False)}</b>")
        else:
            parts.append(f"<b>▶ {label}</b>\n{_passage_html(chunk, text, marks)}")
    return _fit(writer.html("\n\n".join(parts)))


def source_html(title: str, chunk: Chunk, writer: Writer, note: str, paragraphs: tuple[int, int] = (0, 0)) -> str:
    """A passage exactly as its source file has it (script and words), the labels in the reader's script."""
    label = writer.words(f"原文 · {paragraph_label(*paragraphs) if paragraphs[0] else f'第{chunk.paragraph}段'}")
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
    titles = distinct_titles(SpeechRef(r.speech_id, r.title, 0, r.source_title, r.file_name) for r in rows)
    for row in rows[page * SPEECHES_PER_PAGE : (page + 1) * SPEECHES_PER_PAGE]:
        title = titles[row.speech_id]
        line = f"<code>{escape(row.speech_id, quote=False)}</code>  {escape(title, quote=False)}"
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
