"""The CLI against a running service (``--url``): the service holds the DuckDB file, so it does the work."""

from __future__ import annotations

import time
from typing import Any

import httpx
import typer

from app.engine.building.plan import BuildRequest
from app.errors import TapflowError

POLL_S = 1.0


def call(
    url: str, method: str, path: str, api_key: str | None, json: Any = None, *, needs: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One request answered in a JSON object with the keys ``needs``; a problem answer becomes a TapflowError
    carrying its detail."""
    response = _request(url, method, path, api_key, json, "application/json")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(k not in body for k in needs):
        raise TapflowError(f"{url}{path} did not answer like a TapFlow service; check --url")
    return body


def fetch_text(url: str, method: str, path: str, api_key: str | None, json: Any = None) -> str:
    """One request answered in text (CSV)."""
    return _request(url, method, path, api_key, json, "text/csv").text


def _request(url: str, method: str, path: str, api_key: str | None, json: Any, accept: str) -> httpx.Response:
    headers = {"X-Consumer": "tapflow-cli", "Accept": accept}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        response = httpx.request(method, url.rstrip("/") + path, json=json, headers=headers, timeout=120)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise TapflowError(f"Could not reach {url[:200]}: {exc}; pass --url http://HOST:PORT") from exc
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise TapflowError(f"{url} answered {response.status_code}: {str(detail)[:500]}")
    return response


def build_remote(url: str, request: BuildRequest, api_key: str | None, *, dry_run: bool) -> dict[str, Any] | None:
    """POST /admin/builds, then follow GET /admin/builds/{id} to its end, printing progress lines."""
    if dry_run:
        raise TapflowError("--dry-run plans on the database file; run it where the file is, without --url")
    keys = ("run_id", "status", "batches_total", "batches_done", "rows", "tables")
    job = call(url, "POST", "/admin/builds", api_key, request.as_dict(), needs=keys)
    run_id = job["run_id"]
    typer.echo(f"build {run_id} started by {url}: {job['batches_total']} batch(es)")
    seen = -1
    while job["status"] == "running":
        if job["batches_done"] != seen:
            seen = job["batches_done"]
            eta = "" if job.get("eta_s") is None else f", ETA {job['eta_s']:.0f}s"
            typer.echo(
                f"{job.get('current_table') or '-'}: {seen}/{job['batches_total']} batches, {job['rows']:,} rows{eta}",
                err=True,
            )
        time.sleep(POLL_S)
        job = call(url, "GET", f"/admin/builds/{run_id}", api_key, needs=keys)
    from app.cli.progress import print_report

    print_report(job)
    return job
