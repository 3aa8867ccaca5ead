"""POST /impact: the verdict, the per-change analysis and a Markdown PR comment for a proposal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.deps import StateDep
from app.api.governance_schemas import ImpactReport
from app.api.media import MarkdownResponse
from app.api.schemas import text_response
from app.errors import InvalidRequest, QueryTimeout
from app.governance.impact import analyze, is_definition, proposed_files
from app.governance.patch import apply_unified_diff
from app.governance.report import render_markdown
from app.web.render import markdown

router = APIRouter(prefix="/impact", tags=["governance"])


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
    response_model=ImpactReport,
    responses=text_response(MarkdownResponse.media_type, "The PR comment (format=markdown or Accept: text/markdown)"),
)
async def impact(request: Request, state: StateDep, format: str = "json") -> Response:
    body = await request.body()  # at most TAPFLOW_MAX_BODY_BYTES: the body limit middleware cuts larger ones
    settings = state.settings
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    current = state.project.files
    if kind in ("text/x-diff", "text/x-patch", "text/plain"):
        diff = body.decode("utf-8", errors="replace")
        files, _, ignored = apply_unified_diff(current, diff, is_definition, max_chars=settings.max_body_bytes)
    elif kind in ("application/json", ""):
        try:
            proposal = ImpactRequest.model_validate_json(body or b"{}")
        except ValidationError as exc:
            raise InvalidRequest(
                'The body must be JSON {"files": {path: text}, "deleted": [path]}: '
                + "; ".join(e["msg"] for e in exc.errors())
            ) from None
        files, ignored = proposed_files(current, proposal.files, proposal.deleted)
    else:
        raise InvalidRequest(f"Unsupported Content-Type '{kind}'. Send application/json or text/x-diff.")
    await run_in_threadpool(state.recorder.flush)  # consumers are read from the usage log
    report = await run_in_threadpool(
        analyze,
        state.project,
        files,
        catalog=state.catalog,
        statedb=state.statedb,
        warehouse=state.warehouse,
        now=settings.clock(),
        timeout_s=settings.query_timeout_s,
        base=settings.project_dir,
        ignored=ignored,
        budget_s=settings.impact_timeout_s,
        max_changes=settings.impact_max_changes,
        slots=state.query_slots,
    )
    if report.partial:
        raise QueryTimeout(
            f"The impact analysis ran past its {settings.impact_timeout_s:g} s budget (TAPFLOW_IMPACT_TIMEOUT_S); "
            "`report` is the partial analysis (partial: true). Propose fewer changes per request.",
            report=report.as_dict() | {"markdown": render_markdown(report)},
        )
    if format == "html":  # the web catalog's impact page: the PR comment as a browser shows it
        return HTMLResponse(markdown(render_markdown(report)), headers={"X-Impact-Verdict": report.verdict})
    wants_markdown = format == "markdown" or "text/markdown" in request.headers.get("accept", "")
    if wants_markdown:
        return MarkdownResponse(render_markdown(report))
    if format != "json":
        raise InvalidRequest(f"Unknown format '{format[:40]}'. Allowed: json, markdown, html.")
    return JSONResponse(report.as_dict() | {"markdown": render_markdown(report)})
