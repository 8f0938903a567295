"""Start the msme-rag server: FastAPI with LangServe routes over the RAG chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from langserve import add_routes

from api.health import router as health_router
from api.services import Services, app_version
from chains.rag import build_rag_chain
from settings import Settings, configure_offline_libraries

LANGSERVE_ENDPOINTS = (
    "invoke",
    "batch",
    "stream",
    "stream_events",
    "playground",
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
        yield

    app = FastAPI(
        title="msme-rag",
        version=app_version(),
        description="Answers MSME questions from their own documents, in English and Telugu.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.include_router(health_router)
    add_routes(
        app,
        build_rag_chain(settings, retrieve=services.search, llm=services.llm),
        path="/rag",
        enabled_endpoints=LANGSERVE_ENDPOINTS,
    )
    return app


def main() -> None:
    """Serve on HOST:PORT whatever DATA_DIR holds."""
    configure_offline_libraries()
    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
