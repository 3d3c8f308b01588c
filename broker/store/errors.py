"""Typed failures of the stores; messages name the operation and the cause's type only.

SQLAlchemy's own messages can quote SQL parameters (a decrypted body among them), so they
are never repeated here; the cause stays attached as `__cause__` for debugging.
"""

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from broker.errors import CaselinkError


class StoreError(CaselinkError):
    """A store operation failed; nothing it was asked to write was committed."""

    reason = "store_error"

    def __init__(self, operation: str, cause: BaseException | None = None) -> None:
        detail = f"{operation} failed" + (f": {type(cause).__name__}" if cause else "")
        super().__init__(detail)
        self.operation = operation


class StoreUnavailable(StoreError):
    """The database could not be reached or was busy: worth retrying later."""

    reason = "store_unavailable"


class UnsupportedDatabase(StoreError, ValueError):
    """The URL names a database or driver the stores do not support."""

    reason = "unsupported_database"


class DatabaseFilePermissionError(CaselinkError):
    """A SQLite database file, its WAL or journal, or its folder, is open to group or others."""

    reason = "database_file_permissions"


def translate(operation: str, exc: SQLAlchemyError | OSError) -> StoreError:
    """The StoreError to raise (`from exc`) for an infrastructure failure."""
    transient = isinstance(exc, OperationalError | InterfaceError | OSError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    return (StoreUnavailable if transient else StoreError)(operation, exc)
