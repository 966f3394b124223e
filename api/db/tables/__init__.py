"""One module per table. Importing this package registers every table on Base."""

from api.db.tables.user import User

__all__ = ["User"]
