"""API keys and scopes (DESIGN 9): ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

The keys file (``TAPFLOW_API_KEYS_FILE``) holds only SHA-256 digests:

    keys:
      - {name: finance-dashboard, key_sha256: "<hex>", scopes: [read]}
      - {name: ci, key_sha256: "<hex>", scopes: [read, impact]}

Scopes: ``read`` (metrics, entities, usage, deprecations, lineage), ``impact`` (POST /impact),
``admin`` (/admin/*). A key's name becomes the consumer of its usage events. Keys are compared
in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.asgi import send_problem
from app.api.context import request_context
from app.errors import AuthConfigError, Forbidden, Unauthorized

SCOPES = ("read", "impact", "admin")
OPEN_PATHS = ("/health", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")


class KeySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=100)
    key_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    scopes: tuple[str, ...]


class KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[KeySpec]


@dataclass(frozen=True)
class Keyring:
    keys: tuple[KeySpec, ...]

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            parsed = KeysFile.model_validate(data)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise AuthConfigError(f"Cannot use API keys file '{path}': {exc}") from None
        for key in parsed.keys:
            unknown = set(key.scopes) - set(SCOPES)
            if unknown:
                raise AuthConfigError(
                    f"Key '{key.name}' in '{path}' has unknown scopes {sorted(unknown)}; allowed: {', '.join(SCOPES)}."
                )
        return cls(tuple(parsed.keys))

    def identify(self, presented: str) -> KeySpec | None:
        """The key whose digest matches, compared in constant time against every key."""
        digest = hashlib.sha256(presented.encode()).hexdigest()
        found: KeySpec | None = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.key_sha256.lower()):
                found = key
        return found


def required_scope(method: str, path: str) -> str | None:
    if path in OPEN_PATHS or _page_shell(path):
        return None
    if path.startswith("/admin"):
        return "admin"
    if path.startswith("/impact"):
        return "impact"
    return "read"


SHELLS = ("/", "/ui/lineage", "/ui/deprecations", "/ui/impact")
NAMED_SHELL = re.compile(r"/ui/(metrics|entities)/[^/]+")


def _page_shell(path: str) -> bool:
    """The web catalog's page shells and static files hold no data: a page fetches its body and data with the key
    (from /ui/fragments/ and /ui/data/, which need one). Listed one by one, so a new /ui path needs a key."""
    return path in SHELLS or path.startswith("/ui/static/") or NAMED_SHELL.fullmatch(path) is not None


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    auth = headers.get(b"authorization", b"").decode("latin-1").strip()
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    return key or None


INTERNAL = "tapflow.internal"  # the service's own requests (internal.py): an ASGI scope key no client can set


class AuthMiddleware:
    """Rejects requests without a valid key (401) or the scope the path needs (403)."""

    def __init__(self, app: ASGIApp, keyring: Keyring) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = None if scope.get(INTERNAL) else required_scope(scope["method"], scope["path"])
        presented = presented_key(dict(scope.get("headers") or []))
        key = self.keyring.identify(presented) if presented else None
        if needed is None:  # an open path: a valid key still says who asks (/health shows it more)
            if key is not None:
                request_context(scope).api_key = key.name
            await self.app(scope, receive, send)
            return
        if key is None:
            error = Unauthorized(
                "No API key was sent. Send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
                if presented is None
                else "The API key is not valid. Ask an admin for a key."
            )
            error.headers["WWW-Authenticate"] = 'Bearer realm="tapflow"'
            await send_problem(send, scope, error)
            return
        request_context(scope).api_key = key.name  # the consumer of the usage event, even of a 403
        if needed not in key.scopes:
            await send_problem(
                send,
                scope,
                Forbidden(
                    f"Key '{key.name}' lacks the '{needed}' scope this endpoint needs "
                    f"(it has: {', '.join(key.scopes) or 'none'})."
                ),
            )
            return
        await self.app(scope, receive, send)
