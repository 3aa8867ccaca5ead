"""One exception hierarchy for the whole service; no web framework imports.

    TapflowError (500)
    ├── InternalError (500)         an unexpected failure (the API's last-resort answer)
    ├── HttpError (any status)      an HTTP status the framework raised that no class below names
    ├── BadRequest (400)
    │   ├── InvalidRequest          parameters or body do not fit the endpoint's schema
    │   ├── InvalidQuery            a metric query that cannot be compiled or run as asked
    │   └── InvalidDiff             a unified diff posted to /impact that does not parse or apply
    ├── Unauthorized (401)          no API key, or one that is not valid
    ├── Forbidden (403)             a valid API key without the scope the endpoint needs
    ├── NotFound (404)
    │   ├── UnknownMetric
    │   ├── UnknownEntity
    │   ├── UnknownTable            no build (or no test) for a table named in a request
    │   └── UnknownRoute            no endpoint at this path
    ├── MethodNotAllowed (405)
    ├── Gone (410)                  past a sunset date
    ├── PayloadTooLarge (413)       a request body over TAPFLOW_MAX_BODY_BYTES
    ├── DefinitionError (422)       definitions failed validation; carries every problem
    ├── QueryTimeout (504)
    ├── Unsupported (501)           what the configured warehouse cannot do yet (builds off DuckDB)
    ├── DatabaseError (500)
    │   ├── MigrationError
    │   └── DatabaseBusy (409)      another process holds the DuckDB file
    ├── SeedError (500)
    ├── BuildError (500)            a build batch failed (rolled back) or cannot be planned
    ├── BuildConflict (409)         a build is already running in this service
    ├── GitError (500)              git could not list or show the definitions at a ref
    └── AuthConfigError (500)       the API keys file cannot be used

Each class carries ``status`` and ``title``, and its problem type is named after the class
(``UnknownMetric`` -> ``unknown-metric``); ``api/problems.py`` renders them as RFC 9457
problem documents.
"""

from __future__ import annotations

from typing import Any


class TapflowError(Exception):
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra
        self.headers: dict[str, str] = {}

    @property
    def type_slug(self) -> str:
        """The last part of the problem type URI: the class name in kebab case."""
        name = type(self).__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


class InternalError(TapflowError):
    status, title = 500, "Internal error"


class HttpError(TapflowError):
    """An HTTP error the framework raised with a status no other class names (``status`` is set per error)."""

    title = "HTTP error"

    def __init__(self, detail: str, *, status: int = 500, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.status = status


class BadRequest(TapflowError):
    status, title = 400, "Bad request"


class InvalidRequest(BadRequest):
    title = "Invalid request"


class InvalidQuery(BadRequest):
    title = "Invalid query"


class InvalidDiff(BadRequest):
    title = "Invalid diff"


class Unauthorized(TapflowError):
    status, title = 401, "Unauthorized"


class Forbidden(TapflowError):
    status, title = 403, "Forbidden"


class NotFound(TapflowError):
    status, title = 404, "Not found"


class UnknownMetric(NotFound):
    title = "Unknown metric"


class UnknownEntity(NotFound):
    title = "Unknown entity"


class UnknownTable(NotFound):
    title = "Unknown table"


class UnknownRoute(NotFound):
    title = "Unknown route"


class MethodNotAllowed(TapflowError):
    status, title = 405, "Method not allowed"


class Gone(TapflowError):
    status, title = 410, "Gone"


class PayloadTooLarge(TapflowError):
    status, title = 413, "Payload too large"


class DefinitionError(TapflowError):
    status, title = 422, "Invalid definitions"


class QueryTimeout(TapflowError):
    status, title = 504, "Query timed out"


class Unsupported(TapflowError):
    status, title = 501, "Not supported on this warehouse"


class DatabaseError(TapflowError):
    status, title = 500, "Database error"


class MigrationError(DatabaseError):
    title = "Migration error"


class DatabaseBusy(DatabaseError):
    status, title = 409, "Database busy"


class SeedError(TapflowError):
    title = "Seed error"


class BuildError(TapflowError):
    title = "Build failed"


class BuildConflict(TapflowError):
    status = 409
    title = "A build is already running"


class GitError(TapflowError):
    title = "Git error"


class AuthConfigError(TapflowError):
    title = "Invalid API keys file"
