"""Loaders on real files of every supported format, a scanned PDF, and broken input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from loaders import DocumentLoadError, chunk_elements, load_document
from tests.conftest import SAMPLE_CORPUS
from tests.fixtures.documents import write_locked_pdf
from tests.fixtures.word97 import write_word97_doc

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TELUGU_FONT = "/usr/share/fonts/truetype/lohit-telugu/Lohit-Telugu.ttf"


def _text(path: Path) -> str:
    return "\n".join(element.text for element in load_document(path).elements)


@pytest.mark.parametrize(
    ("relative_path", "expected_title", "expected_phrase"),
    [
        (
            "en/msme_classification.md",
            "Who counts as a micro, small or medium enterprise",
            "turnover up to Rs 10 crore",
        ),
        (
            "en/udyam_registration.txt",
            "Udyam Registration: how an MSME registers",
            "free of cost and fully online",
        ),
        ("en/gst_for_small_business.html", "GST basics for small businesses", "Rs 40 lakh"),
        ("en/mudra_loans.docx", "Mudra loans for small businesses", "Shishu loans cover amounts"),
        (
            "en/delayed_payments.pdf",
            "Delayed payments to micro and small enterprises",
            "at most 45 days",
        ),
        ("te/pmegp_subsidy_te.docx", "పీఎంఈజీపీ: కొత్త సంస్థలకు సబ్సిడీ", "గ్రామీణ ప్రాంతాల్లో 35 శాతం"),
        ("te/cgtmse_guarantee_te.txt", "సీజీటీఎంఎస్ఈ: పూచీకత్తు లేని రుణాలు", "పది కోట్ల రూపాయల"),
        ("te/upi_digital_payments_te.md", "చిన్న దుకాణాలకు డిజిటల్ చెల్లింపులు", "యూపీఐ పిన్"),
    ],
)
def test_sample_corpus_files_parse_with_title_and_text(
    relative_path: str, expected_title: str, expected_phrase: str
) -> None:
    loaded = load_document(SAMPLE_CORPUS / relative_path)
    assert loaded.title == expected_title
    assert expected_phrase in " ".join(element.text for element in loaded.elements)
    assert loaded.ocr_used is False


def test_pdf_pages_are_numbered() -> None:
    loaded = load_document(SAMPLE_CORPUS / "en/delayed_payments.pdf")
    pages = {element.metadata.page_number for element in loaded.elements}
    assert pages == {1, 2}
    samadhaan = [e for e in loaded.elements if "Samadhaan portal" in e.text]
    assert samadhaan and samadhaan[0].metadata.page_number == 2


def test_legacy_word_doc_is_read_with_antiword(tmp_path: Path) -> None:
    path = tmp_path / "old_notice.doc"
    write_word97_doc(
        path, ["Legacy notice", "Udyam registration needs no documents.", "సూక్ష్మ సంస్థ"]
    )
    text = _text(path)
    assert "Udyam registration needs no documents." in text
    assert "సూక్ష్మ సంస్థ" in text


def test_scanned_pdf_is_ocrd_in_english_and_telugu(tmp_path: Path) -> None:
    image = Image.new("RGB", (1700, 900), "white")
    draw = ImageDraw.Draw(image)
    draw.text(
        (100, 100),
        "Scanned notice: Udyam registration is free.",
        font=ImageFont.truetype(LATIN_FONT, 44),
        fill="black",
    )
    draw.text(
        (100, 300), "సూక్ష్మ సంస్థల నమోదు ఉచితం", font=ImageFont.truetype(TELUGU_FONT, 52), fill="black"
    )
    path = tmp_path / "scan.pdf"
    image.save(path, resolution=200.0)  # an image-only PDF: no text layer at all

    loaded = load_document(path)
    text = " ".join(element.text for element in loaded.elements)
    assert loaded.ocr_used is True
    assert "Udyam registration is free" in text
    assert "నమోదు" in text and "ఉచితం" in text
    assert {element.metadata.page_number for element in loaded.elements} == {1}


def test_chunks_carry_metadata_and_respect_sections() -> None:
    loaded = load_document(SAMPLE_CORPUS / "en/msme_classification.md")
    chunks = chunk_elements(
        loaded.elements,
        doc_id="d1",
        title=loaded.title,
        source="msme_classification.md",
        chunk_size=400,
        chunk_overlap=50,
    )
    assert len(chunks) >= 3
    assert [chunk.metadata["chunk_index"] for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.metadata["doc_id"] == "d1"
        assert chunk.metadata["source"] == "msme_classification.md"
        assert chunk.metadata["lang"] == "en"
        assert len(chunk.page_content) <= 400
    # A section heading starts a chunk: the 2025 limits are not glued to the 2020 ones.
    limits_2025 = [c for c in chunks if "Limits in force from 1 April 2025" in c.page_content]
    assert limits_2025 and "July 2020" not in limits_2025[0].page_content


def test_telugu_chunks_are_tagged_te() -> None:
    loaded = load_document(SAMPLE_CORPUS / "te/cgtmse_guarantee_te.txt")
    chunks = chunk_elements(
        loaded.elements,
        doc_id="t",
        title=loaded.title,
        source="c.txt",
        chunk_size=900,
        chunk_overlap=100,
    )
    assert {chunk.metadata["lang"] for chunk in chunks} == {"te"}


def _corrupt_docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a word document")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj <<", "PDF"),
        ("broken.docx", None, "not a valid .docx"),
        ("fake.docx", b"plain text pretending to be a Word file", "not a valid .docx"),
        ("broken.doc", b"\xd0\xcf\x11\xe0 this is not a real OLE file" * 20, "Word 97-2003"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"   \n\n  ", "no text"),
        ("binary.txt", b"\x00\x01\x02garbage\x00" * 100, "binary"),
        ("notes.xlsx", b"whatever", "unsupported file type"),
    ],
)
def test_unreadable_files_raise_a_clear_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is None:
        _corrupt_docx(path)
    else:
        path.write_bytes(content)
    with pytest.raises(DocumentLoadError) as caught:
        load_document(path)
    assert str(caught.value).startswith(f"{name}: ")
    assert reason in caught.value.reason


def test_password_protected_pdf_is_reported(tmp_path: Path) -> None:
    path = write_locked_pdf(tmp_path / "locked.pdf")
    with pytest.raises(DocumentLoadError, match="password-protected"):
        load_document(path)
