"""FastAPI dependencies shared by every domain (HTTP layer only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from api.db.session import session_scope


def get_session() -> Iterator[Session]:
    """One unit of work per request: commit on success, roll back on error."""
    with session_scope() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]
