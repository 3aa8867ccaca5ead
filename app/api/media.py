"""Text response classes: each declares its media type, so the OpenAPI document names it."""

from __future__ import annotations

from fastapi.responses import PlainTextResponse


def accepts_csv(accept: str) -> bool:
    """Whether an Accept header asks for CSV (the rule for data answers and their cache keys)."""
    return "text/csv" in accept


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


class MermaidResponse(PlainTextResponse):
    media_type = "text/vnd.mermaid"
