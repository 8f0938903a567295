"""Accounts and JWT bearer tokens: register, log in, and the current-user / admin dependencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm
from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from api.health import ServicesDep
from db.models import User, as_utc
from settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])
JWT_ALGORITHM = "HS256"
_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/login")


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHash:
    """Argon2id with the library's recommended parameters."""
    return PasswordHash.recommended()


class Credentials(BaseModel):
    """E-mail and password of a new account."""

    email: str = Field(min_length=3, max_length=320, examples=["owner@example.com"])
    password: str = Field(min_length=8, max_length=256)

    @field_validator("email")
    @classmethod
    def _plausible_email(cls, value: str) -> str:
        value = value.strip().lower()
        local, at, domain = value.partition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value):
            raise ValueError("not an e-mail address")
        return value


class UserOut(BaseModel):
    """An account as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    is_admin: bool
    created_at: datetime


class Token(BaseModel):
    """A bearer token for the Authorization header."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


def user_out(user: User) -> UserOut:
    """The public view of an account."""
    return UserOut(
        id=user.id or 0,
        email=user.email,
        is_admin=user.is_admin,
        created_at=as_utc(user.created_at) or user.created_at,
    )


def create_token(settings: Settings, user: User) -> Token:
    """A signed token naming the user, valid for JWT_EXPIRE_MINUTES."""
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.jwt_expire_minutes)
    claims = {"sub": str(user.id), "iat": now, "exp": now + lifetime}
    token = jwt.encode(claims, settings.jwt_secret_key.get_secret_value(), algorithm=JWT_ALGORITHM)
    return Token(access_token=token, expires_in=int(lifetime.total_seconds()))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def get_optional_user(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The user of a valid bearer token, None without one; 401 for a bad or expired token."""
    if credentials is None:
        return None
    if credentials.scheme.lower() != "bearer":
        raise _unauthorized("use an Authorization: Bearer token")
    try:
        claims = jwt.decode(
            credentials.credentials,
            services.settings.jwt_secret_key.get_secret_value(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
        user_id = int(claims["sub"])
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("token expired: log in again") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise _unauthorized("invalid token") from exc
    with services.database.session() as session:
        user = session.get(User, user_id)
    if user is None:
        raise _unauthorized("the account of this token no longer exists")
    return user


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The user of the request's bearer token; 401 without a valid one."""
    if user is None:
        raise _unauthorized("log in first: send Authorization: Bearer <token>")
    return user


def get_admin_user(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The current user if an admin; 403 otherwise."""
    if not user.is_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="admins only")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin_user)]


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(credentials: Credentials, services: ServicesDep) -> UserOut:
    """Create an account; the first account (or the one named by ADMIN_EMAIL) is an admin."""
    admin_email = (services.settings.admin_email or "").strip().lower()
    password_hash = password_hasher().hash(credentials.password)
    with services.database.session() as session:
        existing_users = session.exec(select(func.count()).select_from(User)).one()
        user = User(
            email=credentials.email,
            password_hash=password_hash,
            is_admin=existing_users == 0 or credentials.email == admin_email,
        )
        session.add(user)
        try:
            session.commit()
        except IntegrityError as exc:
            raise HTTPException(
                status_code=status.HTTP_409_CONFLICT, detail="this e-mail is already registered"
            ) from exc
        session.refresh(user)
    return user_out(user)


@router.post("/login")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep) -> Token:
    """Exchange e-mail (`username`) and password for a bearer token."""
    email = form.username.strip().lower()
    with services.database.session() as session:
        user = session.exec(select(User).where(col(User.email) == email)).first()
    hasher = password_hasher()
    if user is None:
        hasher.hash(form.password)  # spend the same time whether or not the account exists
        raise _unauthorized("wrong e-mail or password")
    valid, new_hash = hasher.verify_and_update(form.password, user.password_hash)
    if not valid:
        raise _unauthorized("wrong e-mail or password")
    if new_hash is not None:
        with services.database.session() as session:
            user.password_hash = new_hash
            session.add(user)
            session.commit()
    return create_token(services.settings, user)
