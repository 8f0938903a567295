"""GET /: health and status of the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.services import Services

router = APIRouter(tags=["health"])


def get_services(request: Request) -> Services:
    """The services of the app handling this request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@router.get("/")
def health(services: ServicesDep) -> dict[str, object]:
    """Version, document and chunk counts, and the active backend of each part."""
    return services.status()
