"""Turn a web copy of a speech into its text lines: page furniture out, pinyin out.

The raw files are pages saved from document-sharing sites. What the site
added (download buttons, file facts, customer-service lines, related-document
lists, editor's blurbs, breadcrumbs, page counters) must never reach a reader
as a passage, and its words (下载, 文档) must not make off-topic questions look
answerable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from retrieval.text import fold

# 質(zhì)量 -> 質量: a pinyin reading in brackets right after a Chinese character.
PINYIN_ANNOTATION = re.compile(
    r"(?<=[\u3400-\u9fff])[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüêɑńňǹḿ]{1,7}[)）]"
)

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


def strip_pinyin(text: str) -> str:
    return PINYIN_ANNOTATION.sub("", text)


def is_furniture(line: str) -> bool:
    folded = fold(line)
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
            line = strip_pinyin(line).strip()
            if not line:
                continue
            if RELATED_LIST_START.match(fold(line)):
                in_related_list = True
                continue
            if in_related_list and _reads_as_related_title(line) and not is_section_start(line):
                continue
            in_related_list = False
            if not is_furniture(line):
                lines.append(line)
    return lines


def _reads_as_related_title(line: str) -> bool:
    return len(line) <= RELATED_TITLE_MAX and line[-1] not in "。！？!?；;:：”\"」"
