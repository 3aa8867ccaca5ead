"""POST /impact: the verdict, the per-change analysis and a Markdown PR comment for a proposal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.deps import StateDep
from app.errors import InvalidQuery
from app.governance.impact import analyze, is_definition, proposed_files
from app.governance.patch import apply_unified_diff
from app.governance.report import render_markdown

router = APIRouter(prefix="/impact", tags=["governance"])
MAX_BODY = 2_000_000


class ImpactRequest(BaseModel):
    """Proposed definition files (path relative to the project -> full new text), and deleted paths."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"files": {"metrics/revenue.yml": "version: 2\nmetrics:\n  - name: mrr\n    ..."}, "deleted": []}
            ]
        },
    )

    files: dict[str, str] = Field(default_factory=dict)
    deleted: list[str] = Field(default_factory=list)


OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ImpactRequest.model_json_schema()},
            "text/x-diff": {"schema": {"type": "string", "description": "A unified diff, as `git diff` prints it"}},
        },
    }
}


@router.post(
    "",
    summary="Impact analysis of proposed definition changes",
    openapi_extra=OPENAPI_BODY,
    response_class=JSONResponse,
)
async def impact(request: Request, state: StateDep, format: str = "json") -> Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidQuery(f"The proposal is larger than {MAX_BODY} bytes.")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    current = state.project.files
    if kind in ("text/x-diff", "text/x-patch", "text/plain"):
        files, _, ignored = apply_unified_diff(current, body.decode("utf-8", errors="replace"), is_definition)
    elif kind in ("application/json", ""):
        try:
            proposal = ImpactRequest.model_validate_json(body or b"{}")
        except ValidationError as exc:
            raise InvalidQuery(
                'The body must be JSON {"files": {path: text}, "deleted": [path]}: '
                + "; ".join(e["msg"] for e in exc.errors())
            ) from None
        files, ignored = proposed_files(current, proposal.files, proposal.deleted)
    else:
        raise InvalidQuery(f"Unsupported Content-Type '{kind}'. Send application/json or text/x-diff.")
    settings = state.settings
    await run_in_threadpool(state.recorder.flush)  # consumers are read from the usage log
    report = await run_in_threadpool(
        analyze,
        state.project,
        files,
        catalog=state.catalog,
        con=state.con,
        now=settings.clock(),
        timeout_s=settings.query_timeout_s,
        base=settings.project_dir,
        ignored=ignored,
    )
    wants_markdown = format == "markdown" or "text/markdown" in request.headers.get("accept", "")
    if wants_markdown:
        return PlainTextResponse(render_markdown(report), media_type="text/markdown")
    if format != "json":
        raise InvalidQuery(f"Unknown format '{format[:40]}'. Allowed: json, markdown.")
    return JSONResponse(report.as_dict() | {"markdown": render_markdown(report)})
