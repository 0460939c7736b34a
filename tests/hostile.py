"""Hostile inputs made on the fly, small on disk: .docx bombs and broken .docx files."""

from __future__ import annotations

import io
import zipfile

import docx

SPEECH_LINES = [
    "全县计量工作会议讲话",
    "同志们：",
    "今年我们要在全县推广智慧计量监管平台，计划年内接入计量器具三千二百台。",
]


def docx_bytes(lines: list[str] = SPEECH_LINES) -> bytes:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def with_document_xml(write_body, lines: list[str] = SPEECH_LINES) -> bytes:
    """A real .docx whose word/document.xml is replaced by what write_body(stream) writes (streamed)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(lines)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, source.read(item.filename))
                continue
            head = source.read(item.filename).partition(b"<w:body>")[0] + b"<w:body><w:p><w:r><w:t>"
            info = zipfile.ZipInfo("word/document.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w", force_zip64=True) as stream:
                stream.write(head)
                write_body(stream)
                stream.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()


def spaces_bomb(megabytes: int) -> bytes:
    """A .docx of ~megabytes/1000 MB on disk whose text part unpacks to `megabytes` MB of spaces."""
    block = b" " * (1 << 20)

    def body(stream) -> None:
        for _ in range(megabytes):
            stream.write(block)

    return with_document_xml(body)


def broken_xml_docx() -> bytes:
    """A .docx whose document.xml is not well-formed XML (python-docx raises lxml's XMLSyntaxError)."""
    return with_document_xml(lambda stream: stream.write(b"<unclosed>&bogus;<<"))
