"""Upload checks at the edge: file-name sanitising and content sniffing by type."""

from __future__ import annotations

import codecs

import pytest

from api.documents import content_matches, looks_like_text
from storage import safe_filename


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\Desktop\\loan form.DOCX", "loan form.docx"),
        ("a;b|c$d`e.md", "a_b_c_d_e.md"),
        ("line\nbreak\x00.txt", "line_break.txt"),
        ("...hidden.html", "hidden.html"),
        ("ఉద్యమ్ నమోదు.txt", "ఉద్యమ్ నమోదు.txt"),  # Telugu vowel signs are marks: kept
        ("", "document"),
        ("../", "document"),
        (".pdf", "pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_safe_filename(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_safe_filename_never_leaves_the_folder() -> None:
    for hostile in ("..", "../..", "/", "a/../../b", "..\\..\\x.doc", "\u202e.exe.txt"):
        name = safe_filename(hostile)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert name not in ("", ".", "..")


@pytest.mark.parametrize(
    ("extension", "head", "ok"),
    [
        (".pdf", b"%PDF-1.7\n...", True),
        (".pdf", b"\xef\xbb\xbf  %PDF-1.4", True),  # junk before the header is tolerated
        (".pdf", b"<html>not a pdf</html>", False),
        (".docx", b"PK\x03\x04\x14\x00", True),
        (".docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", False),
        (".doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", True),
        (".doc", b"PK\x03\x04", False),
        (".txt", "ఉద్యమ్ registration".encode(), True),
        (".txt", "ఉద్యమ్".encode()[:-1], True),  # cut inside a character: still text
        (".md", codecs.BOM_UTF16_LE + "# Title".encode("utf-16-le"), True),
        (".html", b"<p>caf\xe9</p>", True),  # Windows-1252 text
        (".txt", b"\x89PNG\r\n\x1a\n\x00\x00", False),
        (".txt", b"\x01\x02\x03\xff\xfe binary", False),
    ],
)
def test_content_matches_extension(extension: str, head: bytes, ok: bool) -> None:
    assert content_matches(extension, head) is ok


def test_looks_like_text_rejects_nul_bytes() -> None:
    assert looks_like_text(b"plain text") is True
    assert looks_like_text(b"plain\x00text") is False
