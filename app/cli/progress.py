"""What `tapflow build` prints: the plan, a progress bar (rich on a terminal, plain lines otherwise), the
report with late rows and failed tests."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.engine.building.plan import BuildPlan
from app.engine.building.runner import Progress as BatchDone


def print_plan(plan: BuildPlan) -> None:
    pending = sum(1 for b in plan.batches if not b.done)
    head = f"build {plan.run_id}: {len(plan.tables)} table(s), {pending} batch(es) to run"
    if plan.resumed:
        head += f" (resuming: {len(plan.batches) - pending} batch(es) done by the interrupted run, skipped)"
    typer.echo(head + f", up to {plan.until:%Y-%m-%d %H:%M}")
    for t in plan.tables:
        todo = [b for b in t.batches if not b.done]
        span = f"[{todo[0].start:%Y-%m-%d}, {todo[-1].end:%Y-%m-%d})" if todo else "nothing to do"
        estimate = "" if t.estimate_s is None else f", about {t.estimate_s:.1f} s"
        mode = "incremental" if t.by else "full"
        typer.echo(f"  {t.name:42s} {t.kind:8s} {mode:11s} {len(todo):>4} batch(es) {span}{estimate}")
        if t.kind == "rollup" and todo:
            typer.echo("    at most: planned again at its turn, only the periods its tables changed are rebuilt")
        if t.late:
            typer.echo(f"    {_late_line(t.name, t.late)}")


def _late_line(table: str, late: dict[str, Any]) -> str:
    first, last = str(late["first"])[:10], str(late["last"])[:10]
    return (
        f"late: {late['count']:,} row(s) of {late['source']} arrived after the lookback passed {first}..{last}; "
        f"rebuild with: tapflow build {table} --start {first} --end {_day_after(last)}"
    )


def _day_after(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


class BuildProgress:
    """A bar with rows, batches done and an ETA on a terminal; one line per batch otherwise."""

    def __init__(self, total: int, done: int):
        self.total, self.done = total, done
        self.bar: Progress | None = None
        if sys.stderr.isatty():
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("batches"),
                TextColumn("{task.fields[rows]} rows"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.task = self.bar.add_task("building", total=total, completed=done, rows="0")

    def __enter__(self) -> BuildProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, p: BatchDone) -> None:
        if self.bar is not None:
            self.bar.update(
                self.task,
                total=p.batches_total,
                completed=p.batches_done,
                description=p.table,
                rows=f"{p.rows_total:,}",
            )
            return
        eta = "" if p.eta_s is None else f", ETA {p.eta_s:.0f}s"
        typer.echo(
            f"{p.table} [{p.batch.start:%Y-%m-%d %H:%M}, {p.batch.end:%Y-%m-%d %H:%M}): {p.rows:,} rows; "
            f"{p.batches_done}/{p.batches_total} batches, {p.rows_total:,} rows{eta}",
            err=True,
        )


def print_report(report: dict[str, Any]) -> None:
    for t in report["tables"]:
        skipped = f", {t['skipped']} skipped (done before)" if t["skipped"] else ""
        typer.echo(f"{t['table']:42s} {t['batches']:>4} batch(es){skipped}  {t['rows']:>12,} rows  {t['seconds']:.1f}s")
        if t["late_rows"]:
            typer.echo(f"  {_late_line(t['table'], t['late_rows'])}")
        for test in t["tests"]:
            if test["status"] != "pass":
                sample = ", ".join(map(str, test["sample"]))
                typer.echo(
                    f"  FAIL {test['test']} on {test['table']}: {test['failing']:,} failing; sample: {sample or '-'}"
                    + (f" ({test['detail']})" if test["detail"] else "")
                )
    line = f"build {report['run_id']} {report['status']} in {report['seconds']:.1f}s"
    if report["error"]:
        line += f": {report['error']}"
    typer.echo(line, err=report["status"] != "success")
