"""Turn a web copy of a speech into its text lines: page furniture out, pinyin out.

The raw files are pages saved from document-sharing sites. What the site
added (download buttons, file facts, customer-service lines, related-document
lists, editor's blurbs, breadcrumbs, page counters) must never reach a reader
as a passage, and its words (下载, 文档) must not make off-topic questions look
answerable.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.lexical.segmenter import is_dictionary_word
from retrieval.lexical.text import fold, fold_chars

# 質(zhì)量 -> 質量: a pinyin reading in brackets right after a Chinese character.
PINYIN_ANNOTATION = re.compile(r"(?<=[\u3400-\u9fff])[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüêɑńňǹḿ]{1,7}[)）]")

# Words that only the site's furniture uses: a short line holding one is not speech.
FURNITURE_WORDS = re.compile(
    r"下载|客服|小编|本站|学习啦|上传日期|上传|分享赚钱|版权归|仅供参考|页码|手机阅读|更多精彩|"
    r"关注的文档|看过的人|温馨提示|阅读全文|点击|收藏|范文网|文库|原创|转载"
)
FURNITURE_LINE_MAX = 300

# Lines that are furniture whatever they say.
FURNITURE_LINES = [
    re.compile(r"^(分享|收起|展开|收藏|打印|举报|目录|上一页|下一页|返回顶部)$"),
    re.compile(r"^(id|大小|页数|格式|时间|日期|作者|来源|浏览|字数)\s*[:：]", re.I),
    re.compile(r"\.(docx?|pdf|txt|pptx?|wps)$", re.I),
    re.compile(r"^\d+页[,，]?\s*当前第\s*\d+"),
    re.compile(r"当前第\s*\d+\s*页"),
    re.compile(r"^[\d\s.,:/-]+$"),
    re.compile(r"\s>\s.*\s>\s"),  # breadcrumbs: 首页 > 范文 > 讲话
    re.compile(r"^>{2,}"),
]

# After these, the page lists other documents' titles until the next real text.
RELATED_LIST_START = re.compile(r"^(看过的人还|您可能关注的文档|你可能关注的文档|相关推荐|猜你喜欢|热门文章)")
RELATED_TITLE_MAX = 40

# A keyword line such as "2023 区长 质量 绩效 管理 推进 讲话 范文".
TAG_LINE = re.compile(r"^(\S{1,4}\s+){3,}\S{1,4}$")

# A paragraph break flattened into a space inside one long line (some sites
# put a whole speech on one line): a space between Chinese text on both sides.
FLATTENED_BREAK = re.compile(r"(?<=[\u3400-\u9fff。！？：:；;”」』）)〕】!?])\s+(?=[\u3400-\u9fff“「『（(〔【])")
FLATTENED_LINE_MIN = 1500


# Encoding damage of one shape, seen in GBK pages: a character lost its first byte, which the decoder
# showed as `?` (taking with it the `(` of a pinyin note inserted between the two bytes, if any), and
# the bytes after it were read one off: each pair made of one character's second byte and the next
# one's first (納入參評 → 納入?⒃u; ”。《金華 → ”?！督鹑A, with ！ later made half-width) until a
# second byte in ASCII range stands alone and the reading falls back in step. Re-reading the run one
# byte back restores every character but the first, whose lost byte is chosen by what the document
# and the dictionary say fits between its neighbours.
DAMAGED_RUN = re.compile(
    r"\?(?P<pinyin>[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüê]{1,7}\))?"
    r"(?P<run>(?:[^\x00-\x7f]|[!-/:-?]){1,12}?)(?P<trail>[@-~])"
)
# Shown where damage has that shape but its lost character cannot be told: not a sentence end.
DAMAGE_MARK = "\ufffd"
# A spun copy's stray closing quote: “…〞 is “…”.
STRAY_CLOSING_QUOTE = re.compile(r"(“[^“”〞\n]{0,60})〞")


@dataclass(frozen=True)
class Repair:
    """A document's text with encoding damage repaired, and each repaired spot with a little context."""

    text: str
    spots: tuple[str, ...] = ()


def repair_encoding(text: str) -> Repair:
    """Repair `?`-led damage of the shape above where the document and the dictionary settle it."""
    if "?" not in text:
        return Repair(text)
    folded = fold_chars(text)  # character by character (cached): the document's pairs in one pass
    pairs = Counter(map(str.__add__, folded, folded[1:]))
    chars = Counter(folded)
    spots: list[str] = []

    def fix(m: re.Match[str]) -> str:
        realigned = _realigned(m.group("run"), m.group("trail"))
        if realigned is None:
            return m.group()  # not this damage: a real question mark
        second_byte, tail = realigned
        if not all(chars[fold_chars(c)] for c in tail if c.isalpha()):
            return m.group()  # what it would read back to is not in the document's own words
        before = text[m.start() - 1] if m.start() else ""
        first = _lost_character(second_byte, tail, before, pairs)
        if first is None:
            return DAMAGE_MARK + m.group()[1:]
        spots.append(first + tail)
        return first + tail

    return Repair(DAMAGED_RUN.sub(fix, text), tuple(spots))


def _realigned(run: str, trail: str) -> tuple[int, str] | None:
    """The run's bytes read one back: the lost character's second byte, and the characters after it."""
    data = bytearray()
    for ch in run:
        wide = chr(ord(ch) + 0xFEE0) if ch < "\x7f" else ch  # punctuation the page made half-width
        try:
            encoded = wide.encode("gbk")
        except UnicodeEncodeError:
            return None
        if len(encoded) != 2:
            return None
        data += encoded
    data += trail.encode()
    try:
        return data[0], data[1:].decode("gbk")
    except UnicodeDecodeError:
        return None


def _lost_character(second_byte: int, tail: str, before: str, pairs: Counter[str]) -> str | None:
    """The character that lost its first byte: the one that joins its neighbours best, if one clearly does.

    Evidence: how often the document has it beside the same neighbours, and the dictionary words it makes
    with them.
    """
    scored = []
    for lead in range(0x81, 0xFF):
        try:
            ch = bytes([lead, second_byte]).decode("gbk")
        except UnicodeDecodeError:
            continue
        if not (ch.isalpha() or ch in "。，、；：？！《》“”（）"):
            continue
        left, right = fold_chars(before + ch), fold_chars(ch + tail[:2])
        evidence = pairs[left] + pairs[right[:2]] + _in_dictionary(left) + _in_dictionary(right[:2])
        evidence += _in_dictionary(right)
        scored.append((evidence, ch))
    scored.sort(reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


def _in_dictionary(word: str) -> int:
    """1 for a word of jieba's dictionary (read only when a document shows damage of this shape)."""
    return int(len(word) > 1 and is_dictionary_word(word))


def strip_pinyin(text: str) -> str:
    return PINYIN_ANNOTATION.sub("", text)


def is_furniture(folded: str) -> bool:
    """Page furniture (buttons, service lines, tag lists), told by a line's folded form."""
    if any(p.search(folded) for p in FURNITURE_LINES):
        return True
    if TAG_LINE.match(folded):
        return True
    return len(folded) <= FURNITURE_LINE_MAX and bool(FURNITURE_WORDS.search(folded))


def _unflatten(line: str) -> list[str]:
    if len(line) < FLATTENED_LINE_MIN:
        return [line]
    return [part for part in FLATTENED_BREAK.split(line) if part.strip()]


def clean_lines(text: str, is_section_start: Callable[[str], bool] = lambda line: False) -> list[str]:
    """Text lines of a raw page, in order: stripped, furniture and pinyin removed.

    `is_section_start` recognises the heading of the next speech in a
    collection, which ends a related-documents list it follows.
    """
    lines: list[str] = []
    in_related_list = False
    for raw in text.splitlines():
        for line in _unflatten(raw.strip()):
            line = STRAY_CLOSING_QUOTE.sub(r"\1”", strip_pinyin(line)).strip()
            if not line:
                continue
            folded = fold(line)
            if RELATED_LIST_START.match(folded):
                in_related_list = True
                continue
            if in_related_list and _reads_as_related_title(line) and not is_section_start(line):
                continue
            in_related_list = False
            if not is_furniture(folded):
                lines.append(line)
    return lines


def _reads_as_related_title(line: str) -> bool:
    return len(line) <= RELATED_TITLE_MAX and line[-1] not in '。！？!?；;:：”"」'
