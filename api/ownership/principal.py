"""Who is asking: the identity every location and promotion rule is decided for.

A principal is the user's id and whether they act as an admin, nothing more, so
the worker can rebuild it from a job's owner without the HTTP layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.auth.identity import Account
from api.storage.errors import AccessDenied
from api.users import service as users_service


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    is_admin: bool

    @classmethod
    def of(cls, user: Account) -> Principal:
        # A disabled account keeps no admin powers for the jobs it left queued.
        return cls(user.id, user.is_admin and user.is_active)


def load_principal(session: Session, user_id: int) -> Principal:
    """The principal of a job's owner as they are now (role looked up, not remembered).

    Looking the role up when the job runs means a demoted admin's queued jobs
    run with member rights, never the other way round.
    """
    user = users_service.get(session, user_id)
    if user is None:
        raise AccessDenied(
            f"the job's owner (user {user_id}) no longer exists; nothing was read or written",
            details={"user_id": user_id},
        )
    return Principal.of(user)
