"""What `tapflow status` and `tapflow test` print: the morning check on one screen, test failures."""

from __future__ import annotations

from typing import Any

import typer


def print_status(report: dict[str, Any]) -> None:
    typer.echo(f"Morning check, data as of {report['checked_at'][:16]}: {report['status'].upper()}")
    rows: list[tuple[str, ...]] = [("table", "last build", "took", "median", "rows", "status", "notes")]
    for t in report["tables"]:
        b = t["last_build"] or {}
        median = b.get("median_seconds")
        rows.append(
            (
                t["table"],
                (b.get("finished_at") or "never")[:16].replace("T", " "),
                f"{b['seconds']:.1f}s" if b else "-",
                "-" if median is None else f"{median:.1f}s",
                f"{b['rows']:,}" if b else "-",
                t["status"],
                "; ".join(t["notes"]) or "-",
            )
        )
    _table(rows)
    if report["failed_tests"]:
        typer.echo("\nFailed tests:")
        print_tests(report["failed_tests"], only_failures=True)
    if report["late_rows"]:
        typer.echo("\nLate rows beyond the lookback:")
        for x in report["late_rows"]:
            typer.echo(
                f"  {x['table']}: {x['count']:,} row(s) of {x['source']} for {x['first'][:10]}..{x['last'][:10]}; "
                f"rebuild: {x['rebuild']}"
            )
    covered = [t for t in report["tables"] if t["coverage"]]
    if covered:
        typer.echo("\nGrain coverage:")
        rows = [("table", "grain", "first", "last", "missing")]
        for t in covered:
            c = t["coverage"]
            missing = str(c["missing"]) + (
                f" (e.g. {', '.join(x[:10] for x in c['missing_sample'])})" if c["missing_sample"] else ""
            )
            rows.append((t["table"], c["grain"], str(c["first"])[:16], str(c["last"])[:16], missing))
        _table(rows)


def print_tests(results: list[dict[str, Any]], *, only_failures: bool = False) -> list[dict[str, Any]]:
    """One line per failure (and a count of passes); returns the failures."""
    failed = [r for r in results if r["status"] != "pass"]
    for r in failed:
        sample = ", ".join(map(str, r["sample"])) or "-"
        detail = f" ({r['detail']})" if r.get("detail") else ""
        typer.echo(f"  FAIL {r['test']} on {r['table']}: {r['failing']:,} failing; sample keys: {sample}{detail}")
    if not only_failures:
        typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed", err=bool(failed))
    return failed


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            typer.echo("  ".join("-" * w for w in widths))
