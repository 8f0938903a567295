"""OCR of scanned PDF pages with poppler (pdftoppm) and tesseract, in English and Telugu."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_OCR_DPI = 300


@lru_cache(maxsize=1)
def _installed_tesseract_languages() -> frozenset[str]:
    import pytesseract

    return frozenset(pytesseract.get_languages(config=""))


def usable_ocr_languages(requested: str) -> str:
    """The requested tesseract languages ("eng+tel") that are installed; raise if none are."""
    import pytesseract

    try:
        installed = _installed_tesseract_languages()
    except pytesseract.TesseractNotFoundError as exc:
        raise RuntimeError(
            "OCR needs tesseract (apt-get install tesseract-ocr tesseract-ocr-tel)"
        ) from exc
    wanted = [lang for lang in requested.split("+") if lang]
    usable = [lang for lang in wanted if lang in installed]
    if not usable:
        raise RuntimeError(f"none of the OCR languages {requested!r} is installed for tesseract")
    return "+".join(usable)


def ocr_pdf_pages(path: Path, page_numbers: list[int], languages: str) -> dict[int, str]:
    """Render the given 1-based pages to images and return their OCR'd text by page number."""
    import pytesseract
    from pdf2image import convert_from_path

    langs = usable_ocr_languages(languages)
    texts: dict[int, str] = {}
    for number in page_numbers:
        images = convert_from_path(str(path), dpi=_OCR_DPI, first_page=number, last_page=number)
        page_text = "\n\n".join(pytesseract.image_to_string(image, lang=langs) for image in images)
        # Tesseract separates paragraphs with blank lines already; keep them for structure.
        texts[number] = page_text.strip()
    return texts
