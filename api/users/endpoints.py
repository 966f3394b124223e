"""Routes: who am I, and (admins) create users."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.auth.dependencies import AdminUser, CurrentUser
from api.dependencies import DbSession
from api.error_docs import errors
from api.users import service
from api.users.schemas import UserCreate, UserOut

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    """The account behind the credential of this request."""
    return UserOut.model_validate(user, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_user(body: UserCreate, admin: AdminUser, session: DbSession) -> UserOut:
    """Create a user (admins only). Answers `409 username_taken` when the name
    exists and `422 weak_password` naming the rule a password breaks."""
    user = service.create_user(
        session, body.username, body.password, body.role, created_by=admin.id
    )
    return UserOut.model_validate(user, from_attributes=True)
