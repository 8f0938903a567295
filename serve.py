"""Start the msme-rag server: FastAPI with LangServe routes over the RAG chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from langserve import add_routes
from langserve.server import EndpointName

from api.audio import router as audio_router
from api.auth import get_current_user
from api.auth import router as auth_router
from api.chat_page import router as chat_page_router
from api.chat_ws import router as chat_ws_router
from api.documents import UploadSizeLimit
from api.documents import router as documents_router
from api.health import router as health_router
from api.services import Services, app_version
from api.users import router as users_router
from chains.rag import build_rag_chain
from chains.voice import VoiceError, build_speech_to_text_chain, build_text_to_speech_chain
from jobs import build_dispatcher
from settings import Settings, configure_offline_libraries

LANGSERVE_ENDPOINTS: tuple[EndpointName, ...] = (
    "invoke",
    "batch",
    "stream",
    "stream_events",
    "playground",
    "input_schema",
    "output_schema",
    "config_schema",
)
VOICE_ENDPOINTS: tuple[EndpointName, ...] = (
    "invoke",
    "batch",
    "input_schema",
    "output_schema",
    "config_schema",
)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the app; the embedding model and the index load at startup, once."""
    settings = settings or Settings()
    services = services or Services.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.start()
        # Documents (issue 3): migrations are applied here (DB_AUTO_MIGRATE), then the job
        # worker starts and resumes whatever was pending or interrupted.
        services.database.prepare()
        if services.jobs is None:
            services.jobs = build_dispatcher(services)
        services.jobs.start()
        try:
            yield
        finally:
            services.jobs.stop()

    app = FastAPI(
        title="msme-rag",
        version=app_version(),
        description="Answers MSME questions from their own documents, in English and Telugu.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.include_router(health_router)
    rag_chain = build_rag_chain(settings, retrieve=services.search, llm=services.llm)
    # REQUIRE_AUTH_FOR_CHAT puts /rag behind a bearer token (public by default).
    chat_dependencies = [Depends(get_current_user)] if settings.require_auth_for_chat else []
    add_routes(
        app,
        rag_chain,
        path="/rag",
        enabled_endpoints=LANGSERVE_ENDPOINTS,
        dependencies=chat_dependencies,
    )
    # Documents, accounts and background ingestion (issue 3).
    app.add_middleware(UploadSizeLimit, max_bytes=settings.max_upload_bytes)
    app.include_router(auth_router)
    app.include_router(documents_router)
    app.include_router(users_router)
    # Realtime chat and voice (issue 4): /ws/chat, /audio, /ui/chat, /transcribe, /speak.
    app.state.rag_chain = rag_chain
    app.include_router(chat_ws_router)
    app.include_router(audio_router)
    app.include_router(chat_page_router)
    add_routes(
        app,
        build_speech_to_text_chain(lambda: services.speech_recognizer),
        path="/transcribe",
        enabled_endpoints=VOICE_ENDPOINTS,
    )
    add_routes(
        app,
        build_text_to_speech_chain(lambda: services.speech_synthesizer),
        path="/speak",
        enabled_endpoints=VOICE_ENDPOINTS,
    )
    app.add_exception_handler(VoiceError, _voice_error_response)
    return app


async def _voice_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Audio the voice routes cannot use is the client's to fix: 422 with the reason."""
    return JSONResponse(status_code=422, content={"detail": str(exc)})


def main() -> None:
    """Serve on HOST:PORT whatever DATA_DIR holds."""
    configure_offline_libraries()
    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
