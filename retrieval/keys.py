"""Stable 64-bit keys of text: a word's term code, a passage's content key, a text's vector key.

One hash for all of them (blake2b, 8 bytes, little-endian), so a key computed anywhere (a build worker,
the store, the vector cache) is the same key, in this process and the next.
"""

from __future__ import annotations

import hashlib


def text_code(text: str) -> int:
    """The text's key as an unsigned 64-bit number (a BM25 word field's term code)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def text_key(text: str) -> int:
    """The same key as a signed 64-bit number, as an SQLite integer column holds it."""
    code = text_code(text)
    return code - (1 << 64) if code >= 1 << 63 else code
