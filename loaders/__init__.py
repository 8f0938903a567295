"""Document loaders: files (pdf, docx, doc, txt, md, html, scanned pdf) to structured elements and chunks."""

from loaders.chunking import chunk_elements
from loaders.documents import SUPPORTED_EXTENSIONS, DocumentLoadError, LoadedDocument, load_document

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "DocumentLoadError",
    "LoadedDocument",
    "chunk_elements",
    "load_document",
]
