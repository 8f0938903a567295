"""GET /api/users: the accounts, for admins."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from api.auth import AdminUser, UserOut, user_out
from api.health import ServicesDep
from db.models import User

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("")
def list_users(_admin: AdminUser, services: ServicesDep) -> list[UserOut]:
    """Every account, oldest first (admins only)."""
    with services.database.session() as session:
        users = session.exec(select(User).order_by(col(User.id))).all()
    return [user_out(user) for user in users]
