"""Parse a file into unstructured elements, offline, with OCR for PDFs that have no text layer."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loaders.ocr import ocr_pdf_pages

if TYPE_CHECKING:
    from unstructured.documents.elements import Element

SUPPORTED_EXTENSIONS = frozenset({".pdf", ".docx", ".doc", ".txt", ".md", ".html", ".htm"})
# A PDF page with fewer extracted characters than this is treated as a scan and OCR'd.
_MIN_TEXT_CHARS_PER_PAGE = 20
_ANTIWORD_TIMEOUT_SECONDS = 60


class DocumentLoadError(Exception):
    """A file could not be turned into text; the message names the file and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass
class LoadedDocument:
    """The parsed elements of one file, with the title found in it."""

    source: str
    title: str
    elements: list[Element]
    ocr_used: bool = False


def load_document(path: Path, *, ocr_languages: str = "eng+tel") -> LoadedDocument:
    """Parse `path` into elements; raise DocumentLoadError with a readable reason on failure."""
    source = path.name
    extension = path.suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise DocumentLoadError(
            source, f"unsupported file type {extension!r} (supported: {supported})"
        )
    if not path.is_file():
        raise DocumentLoadError(source, "file not found")
    if path.stat().st_size == 0:
        raise DocumentLoadError(source, "the file is empty")

    ocr_used = False
    declared_title: str | None = None
    try:
        if extension == ".pdf":
            elements, ocr_used = _partition_pdf(path, ocr_languages)
            declared_title = _pdf_declared_title(path)
        else:
            elements = _PARTITIONERS[extension](path)
    except DocumentLoadError:
        raise
    except Exception as exc:  # parsers raise many types; all mean "this file is unreadable"
        raise DocumentLoadError(source, _describe_parse_error(path, exc)) from exc

    elements = [element for element in elements if element.text and element.text.strip()]
    if not elements:
        raise DocumentLoadError(source, "no text could be extracted (empty or image-only document)")
    return LoadedDocument(
        source=source,
        title=declared_title or _find_title(elements, path),
        elements=elements,
        ocr_used=ocr_used,
    )


def _partition_text_file(path: Path) -> list[Element]:
    from unstructured.partition.text import partition_text

    return list(partition_text(text=_read_text(path)))


def _partition_markdown(path: Path) -> list[Element]:
    from unstructured.partition.md import partition_md

    return list(partition_md(text=_read_text(path)))


def _partition_html(path: Path) -> list[Element]:
    from unstructured.partition.html import partition_html

    return list(partition_html(text=_read_text(path)))


def _partition_docx(path: Path) -> list[Element]:
    from unstructured.partition.docx import partition_docx

    return list(partition_docx(filename=str(path)))


def _partition_doc(path: Path) -> list[Element]:
    """Legacy Word: antiword turns it into text (LibreOffice would be a 500 MB dependency)."""
    from unstructured.partition.text import partition_text

    if shutil.which("antiword") is None:
        raise DocumentLoadError(
            path.name, "reading .doc files needs antiword (apt-get install antiword)"
        )
    completed = subprocess.run(
        ["antiword", "-m", "UTF-8.txt", "-w", "0", str(path)],
        capture_output=True,
        timeout=_ANTIWORD_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"antiword exited with {completed.returncode}"
        raise DocumentLoadError(path.name, f"not a readable Word 97-2003 document ({reason})")
    return list(partition_text(text=completed.stdout.decode("utf-8", "replace")))


def _partition_pdf(path: Path, ocr_languages: str) -> tuple[list[Element], bool]:
    """Text layer through pdfminer.six, page by page; pages without one go through OCR."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from unstructured.partition.text import partition_text

    page_texts: list[str] = []
    try:
        for page in extract_pages(str(path)):
            boxes = [box.get_text().strip() for box in page if isinstance(box, LTTextContainer)]
            page_texts.append("\n\n".join(box for box in boxes if box))
    except PDFPasswordIncorrect as exc:
        raise DocumentLoadError(path.name, "the PDF is password-protected") from exc
    if not page_texts:
        raise DocumentLoadError(path.name, "the PDF has no pages")

    scanned_pages = [
        number
        for number, text in enumerate(page_texts, start=1)
        if len(text.strip()) < _MIN_TEXT_CHARS_PER_PAGE
    ]
    if scanned_pages:
        for number, text in ocr_pdf_pages(path, scanned_pages, ocr_languages).items():
            page_texts[number - 1] = text

    elements: list[Element] = []
    for number, text in enumerate(page_texts, start=1):
        for element in partition_text(text=text):
            element.metadata.page_number = number
            elements.append(element)
    return elements, bool(scanned_pages)


def _pdf_declared_title(path: Path) -> str | None:
    """The Title in the PDF's document information, when the producer set one."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    with path.open("rb") as handle:
        document = PDFDocument(PDFParser(handle))
        for info in document.info:
            raw = resolve1(info.get("Title"))
            if isinstance(raw, bytes):
                title = (
                    raw[2:].decode("utf-16-be", "replace")
                    if raw.startswith(b"\xfe\xff")
                    else raw.decode("latin-1")
                ).strip()
                if 3 <= len(title) <= 200:
                    return title
    return None


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise DocumentLoadError(path.name, "binary content in a text file")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("cp1252", errors="replace")


def _describe_parse_error(path: Path, exc: Exception) -> str:
    name = type(exc).__name__
    extension = path.suffix.lower()
    if extension == ".docx" and name in {
        "BadZipFile",
        "KeyError",
        "PackageNotFoundError",
        "ValueError",
    }:
        return "not a valid .docx file (corrupt or not a Word document)"
    if extension == ".pdf" and name in {"PDFSyntaxError", "PSEOF", "PDFTypeError", "PSSyntaxError"}:
        return "not a valid PDF (corrupt or truncated)"
    # Parser messages may quote the full path; where the file is stored is nobody's business.
    detail = (str(exc).strip() or name).replace(str(path), path.name)
    return f"could not be parsed ({name}: {detail[:200]})"


def _find_title(elements: list[Element], path: Path) -> str:
    for element in elements[:5]:
        text = element.text.strip()
        if type(element).__name__ == "Title" and 3 <= len(text) <= 120:
            return text
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize()


_PARTITIONERS: dict[str, Callable[[Path], list[Element]]] = {
    ".txt": _partition_text_file,
    ".md": _partition_markdown,
    ".html": _partition_html,
    ".htm": _partition_html,
    ".docx": _partition_docx,
    ".doc": _partition_doc,
}
