"""Text response classes: each declares its media type, so the OpenAPI document names it."""

from __future__ import annotations

from fastapi.responses import PlainTextResponse


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


class MermaidResponse(PlainTextResponse):
    media_type = "text/vnd.mermaid"
