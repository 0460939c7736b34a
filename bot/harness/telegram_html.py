"""Telegram's text formatting, reproduced so the fake server judges messages as Telegram does.

``parse_html`` is a port of TDLib's ``parse_html`` (td/telegram/MessageEntity.cpp): it walks the
UTF-8 bytes like the C++ code, so error texts and byte offsets match Telegram's.
``fix_formatted_text`` reproduces the clean-up Telegram applies to every message text after
parsing (control characters, trimming, whitespace-only entities, auto-detected entities).
``html_to_ansi`` / ``entities_to_ansi`` render messages for the terminal chat.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass

__all__ = [
    "TelegramHTMLError",
    "entities_to_ansi",
    "find_entities",
    "fix_formatted_text",
    "html_to_ansi",
    "parse_html",
    "utf16_len",
]

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# TDLib's MessageEntity::get_type_priority: the order of entities sharing offset and length.
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_NAMED_REFERENCES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = frozenset(b" \t\r\n\0\v")  # td::is_space, NUL included: the C string's end
_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
)


class TelegramHTMLError(ValueError):
    """HTML Telegram refuses; ``detail`` is TDLib's own text, as Telegram reports it."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Can't parse entities: {detail}")
        self.detail = detail


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram entity offset."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------- parse_html


@dataclass
class _Entity:
    """An entity while parsing; ``argument`` is the URL, language, user or emoji id."""

    type: str
    offset: int
    length: int
    argument: str = ""

    def same_span(self, offset: int, length: int) -> bool:
        return self.offset == offset and self.length == length


@dataclass
class _OpenTag:
    tag: str
    argument: str
    utf16_offset: int
    result_pos: int


class _Bytes:
    """The input as TDLib sees it: UTF-8 bytes, reading NUL past the end."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8", "surrogatepass")

    def __len__(self) -> int:
        return len(self.data)

    def at(self, index: int) -> int:
        return self.data[index] if index < len(self.data) else 0

    def lower(self, begin: int, end: int) -> str:
        """ASCII-only lowercasing, as td::to_lower."""
        return self.data[begin:end].lower().decode("utf-8", "replace")


def _decode_reference(text: _Bytes, pos: int) -> tuple[int, int]:
    """TDLib's decode_html_entity: (code point, position after it), code 0 if it stays literal."""
    end = pos + 1
    if text.at(end) == ord("#"):
        end += 1
        digits, base = (b"0123456789abcdefABCDEF", 16) if text.at(end) == ord("x") else (b"0123456789", 10)
        end += base == 16
        start = end
        while text.at(end) and text.at(end) in digits:
            end += 1
        code = int(text.data[start:end], base) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(text.at(end)).isascii() and chr(text.at(end)).isalpha():
            end += 1
        name = _NAMED_REFERENCES.get(text.data[pos + 1 : end])
        if name is None:
            return 0, pos
        code = ord(name)
    return code, end + 1 if text.at(end) == ord(";") else end


def _append_code_point(out: bytearray, code: int) -> None:
    out += chr(code).encode("utf-8", "surrogatepass")


def _skip_spaces(text: _Bytes, i: int) -> int:
    while text.at(i) and text.at(i) in _SPACES:
        i += 1
    return i


def _attribute_value(text: _Bytes, i: int) -> tuple[str, int]:
    """An unquoted name token (lowercased) or a quoted string with references decoded."""
    quote = text.at(i)
    if quote not in (ord('"'), ord("'")):
        begin = i
        while chr(text.at(i)).isascii() and (chr(text.at(i)).isalnum() or text.at(i) in b".-"):
            i += 1
        if text.at(i) not in _SPACES and text.at(i) != ord(">"):
            raise TelegramHTMLError(f"Unexpected end of name token at byte offset {begin}")
        return text.lower(begin, i), i
    i += 1
    value = bytearray()
    while text.at(i) != quote and text.at(i) != 0:
        if text.at(i) == ord("&"):
            code, after = _decode_reference(text, i)
            if code:
                _append_code_point(value, code)
                i = after
                continue
        value.append(text.at(i))
        i += 1
    if text.at(i) == quote:
        i += 1
    return value.decode("utf-8", "surrogatepass"), i


def _tag_argument(tag: str, name: str, value: str, argument: str) -> str:
    """The one attribute each tag cares about; others are ignored like Telegram does."""
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return argument


def _start_tag(text: _Bytes, begin: int, utf16_offset: int, result_pos: int) -> tuple[_OpenTag, int]:
    """Reads ``<tag attr=value ...>`` from its name; returns the tag and the index of its '>'."""
    i = begin + 1
    while text.at(i) not in _SPACES and text.at(i) != ord(">"):
        i += 1
    if text.at(i) == 0:
        raise TelegramHTMLError(f"Unclosed start tag at byte offset {begin}")
    tag = text.lower(begin + 1, i)
    if tag not in _SUPPORTED_TAGS:
        raise TelegramHTMLError(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    while text.at(i) != ord(">"):
        i = _skip_spaces(text, i)
        if text.at(i) == ord(">"):
            break
        name_begin = i
        while text.at(i) not in _SPACES and text.at(i) not in b"=>":
            i += 1
        name = text.data[name_begin:i].decode("utf-8", "replace")
        if not name:
            raise TelegramHTMLError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        i = _skip_spaces(text, i)
        if text.at(i) != ord("="):
            if text.at(i) == 0:
                raise TelegramHTMLError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and name == "expandable":
                argument = "1"
            continue
        i = _skip_spaces(text, i + 1)
        if text.at(i) == 0:
            raise TelegramHTMLError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = _attribute_value(text, i)
        if text.at(i) == 0:
            raise TelegramHTMLError(f"Unclosed start tag at byte offset {begin}")
        argument = _tag_argument(tag, name, value, argument)
    if tag == "span" and argument != "spoiler":
        raise TelegramHTMLError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return _OpenTag(tag, argument, utf16_offset, result_pos), i


def _end_tag(text: _Bytes, begin: int, open_tag: _OpenTag | None) -> int:
    """Checks ``</tag>`` (or ``</>``) against the innermost open tag; returns the index of '>'."""
    if open_tag is None:
        raise TelegramHTMLError(f"Unexpected end tag at byte offset {begin}")
    i = begin + 1
    while text.at(i) not in _SPACES and text.at(i) != ord(">"):
        i += 1
    name = text.lower(begin + 2, i)
    while text.at(i) and text.at(i) in _SPACES:
        i += 1
    if text.at(i) != ord(">"):
        raise TelegramHTMLError(f"Unclosed end tag at byte offset {begin}")
    if name and name != open_tag.tag:
        raise TelegramHTMLError(
            f'Unmatched end tag at byte offset {begin}, expected "</{open_tag.tag}>", found "</{name}>"'
        )
    return i


def _link_user_id(url: str) -> int | None:
    """tg://user?id=N links become text mentions."""
    match = re.fullmatch(r"tg:(?://)?user\?(?:[^#]*&)?id=(\d+)(?:[&#].*)?", url, re.IGNORECASE)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def _checked_link(url: str) -> str | None:
    """LinkManager::get_checked_link, simplified: a normalized http(s)/tg/ton link or None."""
    if not url or any(ch.isspace() for ch in url):
        return None
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme in ("tg", "ton"):
        rest = url[scheme_match.end() :] if scheme_match else ""
        return f"{scheme}:{rest}" if rest.strip("/") else None
    if "://" in url:
        scheme, _, rest = url.partition("://")
        scheme = scheme.lower()
    else:
        scheme, rest = "http", url
    if scheme not in ("http", "https"):
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    path = rest[len(authority) :]
    userinfo, _, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":")
    if not host or not re.fullmatch(r"[\w.~%-]+", host) or (colon and not _valid_port(port)):
        return None
    prefix = f"{userinfo}@" if userinfo else ""
    return f"{scheme}://{prefix}{host.lower()}{colon}{port}{path if path.startswith('/') else '/' + path}"


def _valid_port(port: str) -> bool:
    return port.isdigit() and 0 < int(port) < 65536


def _close_entity(entities: list[_Entity], open_tag: _OpenTag, length: int, url_text: str) -> None:
    """Adds the entity a closed tag makes, merging <pre><code class=...> into one pre entity."""
    tag, argument, offset = open_tag.tag, open_tag.argument, open_tag.utf16_offset
    last = entities[-1] if entities else None
    if tag in _SIMPLE_TAG_TYPES:
        entities.append(_Entity(_SIMPLE_TAG_TYPES[tag], offset, length))
    elif tag == "tg-emoji":
        if not re.fullmatch(r"[1-9][0-9]*", argument) or int(argument) >= 2**63:
            raise TelegramHTMLError("Invalid custom emoji identifier specified")
        entities.append(_Entity("custom_emoji", offset, length, argument))
    elif tag == "a":
        url = argument or url_text
        user_id = _link_user_id(url)
        if user_id is not None:
            entities.append(_Entity("text_mention", offset, length, str(user_id)))
        elif (checked := _checked_link(url)) is not None:
            entities.append(_Entity("text_link", offset, length, checked))
    elif tag == "pre":
        if last and last.type == "code" and last.same_span(offset, length) and last.argument:
            last.type = "pre_code"
        else:
            entities.append(_Entity("pre", offset, length))
    elif tag == "code":
        if last and last.type == "pre" and last.same_span(offset, length) and argument:
            last.type, last.argument = "pre_code", argument
        else:
            entities.append(_Entity("code", offset, length, argument))
    else:  # blockquote
        entities.append(_Entity("expandable_blockquote" if argument else "blockquote", offset, length))


def _entity_dict(entity: _Entity) -> dict:
    """The Bot API MessageEntity object."""
    result: dict = {"type": entity.type, "offset": entity.offset, "length": entity.length}
    if entity.type == "pre_code":
        result.update(type="pre", language=entity.argument)
    elif entity.type == "text_link":
        result["url"] = entity.argument
    elif entity.type == "text_mention":
        result["user"] = {"id": int(entity.argument), "is_bot": False, "first_name": ""}
    elif entity.type == "custom_emoji":
        result["custom_emoji_id"] = entity.argument
    return result


def _sort_key(entity: dict) -> tuple[int, int, int]:
    """TDLib's order: by offset, longer first, then by type priority."""
    priority = 10 if entity["type"] == "pre" and entity.get("language") else _PRIORITY.get(entity["type"], 50)
    return entity["offset"], -entity["length"], priority


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Telegram's parse_mode=HTML: the plain text and its MessageEntity dicts (UTF-16 offsets).

    Raises TelegramHTMLError with Telegram's message for anything Telegram refuses.
    """
    data = _Bytes(text)
    result = bytearray()
    entities: list[_Entity] = []
    stack: list[_OpenTag] = []
    utf16_offset = 0
    i = 0
    while i < len(data):
        c = data.at(i)
        if c == ord("&"):
            code, after = _decode_reference(data, i)
            if code:
                utf16_offset += 1 + (code > 0xFFFF)
                _append_code_point(result, code)
                i = after
                continue
        if c != ord("<"):
            if c & 0xC0 != 0x80:
                utf16_offset += 1 + (c >= 0xF0)
            result.append(c)
            i += 1
            continue
        if data.at(i + 1) != ord("/"):
            open_tag, i = _start_tag(data, i, utf16_offset, len(result))
            stack.append(open_tag)
        else:
            i = _end_tag(data, i, stack[-1] if stack else None)
            open_tag = stack.pop()
            if utf16_offset > open_tag.utf16_offset:
                url_text = result[open_tag.result_pos :].decode("utf-8", "surrogatepass")
                _close_entity(entities, open_tag, utf16_offset - open_tag.utf16_offset, url_text)
        i += 1
    if stack:
        raise TelegramHTMLError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    try:
        plain = result.decode("utf-8")
    except UnicodeDecodeError:
        raise TelegramHTMLError(_SURROGATE_ERROR) from None
    return plain, sorted((_entity_dict(entity) for entity in entities), key=_sort_key)


# --------------------------------------------------------------------------- fix_formatted_text

_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
_HIDDEN_DATA = frozenset({"text_link", "text_mention", "custom_emoji"})
_WHITESPACE_UNITS = frozenset({ord(" "), ord("\n")})
_REMOVED_CHARS = frozenset({"\r", "\u0333", "\u033f", "\u030a"} | {chr(c) for c in range(0x2028, 0x202F)})
_SHORT_USERNAMES = frozenset({"gif", "vid", "pic", "bing", "wiki", "imdb", "bold", "vote", "like", "coub"})


def _clean_characters(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Control characters become spaces; '\\r', U+2028..U+202E and some combining marks vanish."""
    new_offsets = [0]  # old UTF-16 offset -> new UTF-16 offset
    out: list[str] = []
    for ch in text:
        units = 2 if ord(ch) > 0xFFFF else 1
        if ch not in _REMOVED_CHARS:
            out.append(" " if ord(ch) < 32 and ch != "\n" else ch)
        kept = units if ch not in _REMOVED_CHARS else 0
        new_offsets.extend([new_offsets[-1] + kept] * units)
    fixed = []
    for entity in entities:
        end = min(entity["offset"] + entity["length"], len(new_offsets) - 1)
        begin = new_offsets[min(entity["offset"], end)]
        if new_offsets[end] > begin:
            fixed.append({**entity, "offset": begin, "length": new_offsets[end] - begin})
    return "".join(out), fixed


def _drop_whitespace_entities(units: array, entities: list[dict]) -> list[dict]:
    """Entities lose leading spaces/newlines, and vanish if nothing else is left in them."""
    kept = []
    for entity in entities:
        offset, end = entity["offset"], entity["offset"] + entity["length"]
        if entity["type"] not in _HIDDEN_DATA:
            while offset < end and units[offset] in _WHITESPACE_UNITS:
                offset += 1
            if all(units[k] in _WHITESPACE_UNITS for k in range(offset, end)):
                continue
        if end > offset:
            kept.append({**entity, "offset": offset, "length": end - offset})
    return kept


def _trim(units: array, entities: list[dict]) -> tuple[array, list[dict]]:
    """Cuts trailing spaces/newlines, and leading ones up to the first entity."""
    end = len(units)
    while end and units[end - 1] in _WHITESPACE_UNITS:
        end -= 1
    clipped = []
    for entity in entities:
        length = min(entity["offset"] + entity["length"], end) - entity["offset"]
        if length > 0:
            clipped.append({**entity, "length": length})
    first_entity = min((entity["offset"] for entity in clipped), default=end)
    start = 0
    while start < first_entity and units[start] in _WHITESPACE_UNITS:
        start += 1
    shifted = [{**entity, "offset": entity["offset"] - start} for entity in clipped]
    return units[start:end], shifted


def _overlaps(a: dict, b: dict) -> bool:
    return a["offset"] < b["offset"] + b["length"] and b["offset"] < a["offset"] + a["length"]


def _utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of each code point index (and of the end)."""
    offsets = [0]
    for ch in text:
        offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return offsets


def find_entities(text: str) -> list[dict]:
    """The entities Telegram detects by itself that the bot reads: bot commands and mentions (TDLib's rules).

    Hashtags, URLs and the rest are detected by Telegram too, but nothing here reads them.
    """
    offsets = _utf16_offsets(text)
    spans: list[tuple[str, int, int]] = []
    for match in re.finditer(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])", text):
        spans.append(("bot_command", match.start(), match.end()))
    for match in re.finditer(r"(?<!\w)@([A-Za-z0-9_]{2,32})(?!\w)", text):
        name = match.group(1)
        if len(name) >= 5 or name.lower() in _SHORT_USERNAMES:
            spans.append(("mention", match.start(), match.end()))
    entities = [
        {"type": kind, "offset": offsets[begin], "length": offsets[end] - offsets[begin]}
        for kind, begin, end in spans
        if end > begin
    ]
    return sorted(_without_overlaps(entities, []), key=_sort_key)


def _without_overlaps(new: list[dict], existing: list[dict]) -> list[dict]:
    """New continuous entities never overlap existing ones (or each other); the earlier wins."""
    kept: list[dict] = []
    blocking = [entity for entity in existing if entity["type"] not in _SPLITTABLE | _BLOCKQUOTES]
    for entity in sorted(new, key=_sort_key):
        if not any(_overlaps(entity, other) for other in blocking + kept):
            kept.append(entity)
    return kept


def fix_formatted_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """What Telegram stores for a text and its entities (TDLib's fix_formatted_text).

    Returns ("", []) when nothing but whitespace is left: Telegram then calls the text empty.
    """
    text, entities = _clean_characters(text, entities)
    units = array("H", text.encode("utf-16-le", "surrogatepass"))
    entities = _drop_whitespace_entities(units, sorted(entities, key=_sort_key))
    if all(unit in _WHITESPACE_UNITS for unit in units):
        return "", []
    units, entities = _trim(units, entities)
    plain = units.tobytes().decode("utf-16-le", "surrogatepass")
    entities = entities + _without_overlaps(find_entities(plain), entities)
    return plain, sorted(_drop_whitespace_entities(units, entities), key=_sort_key)


# --------------------------------------------------------------------------- terminal rendering

_ANSI = {
    "bold": "1",
    "italic": "3",
    "underline": "4",
    "strikethrough": "9",
    "spoiler": "7",
    "code": "2;36",
    "pre": "2;36",
}
_RESET = "\x1b[0m"


def _styles_at(position: int, entities: list[dict]) -> tuple[str, ...]:
    """ANSI codes active at a UTF-16 position, outermost first."""
    return tuple(
        _ANSI[entity["type"]]
        for entity in entities
        if entity["type"] in _ANSI and entity["offset"] <= position < entity["offset"] + entity["length"]
    )


def _in_quote(position: int, entities: list[dict]) -> bool:
    return any(
        entity["type"] in _BLOCKQUOTES and entity["offset"] <= position < entity["offset"] + entity["length"]
        for entity in entities
    )


def entities_to_ansi(text: str, entities: list[dict]) -> str:
    """Renders a message's text and entities with ANSI styles; links become ``text (url)``."""
    offsets = _utf16_offsets(text)
    link_ends = {e["offset"] + e["length"]: e["url"] for e in entities if e["type"] == "text_link"}
    out: list[str] = []
    active: tuple[str, ...] = ()
    for index, position in enumerate(offsets):
        styles = _styles_at(position, entities)
        if styles != active:
            out.append((_RESET if active else "") + "".join(f"\x1b[{code}m" for code in styles))
            active = styles
        if position in link_ends and index:
            out.append(f" ({link_ends[position]})")
        if index == len(text):
            break
        if _in_quote(position, entities) and (index == 0 or text[index - 1] == "\n"):
            out.append("│ ")
        out.append(text[index])
    return "".join(out)


def html_to_ansi(text: str) -> str:
    """Renders a Telegram-HTML text for a terminal (raises TelegramHTMLError like Telegram)."""
    return entities_to_ansi(*parse_html(text))
