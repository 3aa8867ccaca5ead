"""A metric result as the bytes of an answer: JSON (with ``meta``) or CSV, its ETag and headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.api.conditional import CACHE_CONTROL, encode, etag_of
from app.engine.csvout import csv_text
from app.engine.runner import MetricResult
from app.governance.deprecation import Signal

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
JSON_MEDIA_TYPE = "application/json"

Shape = Callable[[MetricResult], dict[str, Any]]  # a result -> the body's fields before ``meta``


@dataclass(frozen=True)
class Rendered:
    body: bytes  # what this request gets
    media_type: str
    headers: dict[str, str]  # ETag, Cache-Control, deprecation headers (and X-Truncated for CSV)
    etag: str
    data: bytes | None = None  # the JSON body but its meta, encoded (None for CSV)
    about: dict[str, Any] | None = None  # the JSON body's meta

    @property
    def cached_body(self) -> bytes:
        """What a cache hit gets: the same bytes but ``meta.cached``, which is true (made only when the answer is
        kept)."""
        if self.data is None or self.about is None:
            return self.body
        return with_meta(self.data, self.about | {"cached": True})


def render(result: MetricResult, shape: Shape, sig: Signal, *, csv: bool, version: tuple[str, int]) -> Rendered:
    """The answer to a query; ``version`` (definitions hash, data version) enters the ETag."""
    shaped = shape(result)
    data = to_json(shaped)  # encoded once: for the ETag, and as the JSON body but its meta
    etag = etag_of(encode([*version, csv, sig.meta]) + data)
    headers = {**sig.headers, "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if csv:
        headers["X-Truncated"] = "true" if result.truncated else "false"
        body = csv_text([c["name"] for c in shaped["columns"]], shaped["rows"]).encode()
        return Rendered(body, CSV_MEDIA_TYPE, headers, etag)
    about = meta(result, sig)
    return Rendered(with_meta(data, about), JSON_MEDIA_TYPE, headers, etag, data, about)


def with_meta(data: bytes, about: dict[str, Any]) -> bytes:
    """The JSON object ``data`` (encoded, not empty) with ``meta`` last: ``to_json(shaped | {"meta": about})``
    without encoding the data again. A fresh answer and its cached copy share the data's bytes."""
    return (data[:-1] + b"," if data != b"{}" else b"{") + b'"meta":' + to_json(about) + b"}"


def to_json(payload: dict[str, Any]) -> bytes:
    return encode(payload)


def meta(result: MetricResult, sig: Signal) -> dict[str, Any]:
    q = result.query
    return {
        "row_count": len(result.rows),  # of the metric query (a cohort matrix pivots them)
        "truncated": result.truncated,
        "limit": q.limit,
        "offset": q.offset,
        "elapsed_ms": round(result.elapsed_ms, 3),
        "cached": False,
        "sql": result.sql,
        "params": result.compiled.params,
        "warnings": result.warnings,
        "partial_periods": result.partial_periods,
        "tz": q.tz or "UTC",
        "week_start": q.week_start or "monday",
        "fiscal_year_start": q.fiscal_year_start or 1,
        "data_status": result.data_status,
        "pre_aggregation": result.compiled.pre_aggregation,
        "deprecation": sig.meta,
    }


def metric_payload(result: MetricResult) -> dict[str, Any]:
    return {
        "columns": [{"name": c.name, "type": c.type} for c in result.columns],
        "rows": result.rows,
    }


def metric_header(result: MetricResult) -> dict[str, Any]:
    """The one metric a body is about: its name, label and version."""
    metric = result.compiled.metrics[0]
    return {"metric": metric.name, "label": metric.spec.label or metric.name, "version": metric.version}


def single_metric_body(result: MetricResult) -> dict[str, Any]:
    q = result.query
    return {
        **metric_header(result),
        "grain": q.grain,
        "dimensions": list(q.dimensions),
        **metric_payload(result),
    }


def multi_metric_body(result: MetricResult) -> dict[str, Any]:
    q = result.query
    return {
        "metrics": [
            {"name": m.name, "label": m.spec.label or m.name, "version": m.version} for m in result.compiled.metrics
        ],
        "grain": q.grain,
        "dimensions": list(q.dimensions),
        **metric_payload(result),
    }
