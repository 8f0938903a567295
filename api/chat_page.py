"""The browser chat page at /ui/chat: static files from web/ (no build step) and its UI strings."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse

from prompts.ui import UI_STRINGS, WELCOME

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
PAGE_FILES = {
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}

router = APIRouter(prefix="/ui/chat", tags=["chat"])


@router.get("", include_in_schema=False)
def chat_page() -> FileResponse:
    """The chat page."""
    return FileResponse(WEB_DIR / "chat.html", media_type="text/html; charset=utf-8")


@router.get("/strings.json", include_in_schema=False)
def chat_strings() -> JSONResponse:
    """The page's UI strings in English and Telugu."""
    return JSONResponse(
        {lang: {**strings, "welcome": WELCOME[lang]} for lang, strings in UI_STRINGS.items()}
    )


@router.get("/{name}", include_in_schema=False)
def chat_asset(name: str) -> FileResponse:
    """The page's script and style sheet."""
    if name not in PAGE_FILES:
        raise HTTPException(status_code=404, detail="Not found")
    return FileResponse(WEB_DIR / name, media_type=PAGE_FILES[name])
