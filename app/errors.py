"""One exception hierarchy for the whole service; no web framework imports.

    TapflowError (500)
    ├── DefinitionError (422)      definitions failed validation; carries every problem
    ├── NotFound (404)
    │   ├── UnknownMetric
    │   └── UnknownEntity
    ├── InvalidQuery (400)
    ├── Gone (410)                 past a sunset date
    ├── QueryTimeout (504)
    ├── DatabaseError (500)
    │   ├── MigrationError
    │   └── DatabaseBusy (409)      another process holds the DuckDB file
    └── SeedError (500)

Each class carries ``status`` and ``title``; ``api/problems.py`` renders them as
RFC 9457 problem documents.
"""

from __future__ import annotations

from typing import Any


class TapflowError(Exception):
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra
        self.headers: dict[str, str] = {}

    @property
    def type_slug(self) -> str:
        name = type(self).__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


class DefinitionError(TapflowError):
    status, title = 422, "Invalid definitions"


class NotFound(TapflowError):
    status, title = 404, "Not found"


class UnknownMetric(NotFound):
    title = "Unknown metric"


class UnknownEntity(NotFound):
    title = "Unknown entity"


class InvalidQuery(TapflowError):
    status, title = 400, "Invalid query"


class Gone(TapflowError):
    status, title = 410, "Gone"


class QueryTimeout(TapflowError):
    status, title = 504, "Query timed out"


class DatabaseError(TapflowError):
    status, title = 500, "Database error"


class MigrationError(DatabaseError):
    title = "Migration error"


class DatabaseBusy(DatabaseError):
    status, title = 409, "Database busy"


class SeedError(TapflowError):
    title = "Seed error"
