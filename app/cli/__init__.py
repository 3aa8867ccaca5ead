"""The ``tapflow`` command line: validate, migrate, seed, compile, query, serve."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.errors import DatabaseBusy, DatabaseError, DefinitionError, InvalidQuery, TapflowError

if TYPE_CHECKING:  # imported where used: `tapflow --help` starts without them
    from app.compiler.query import MetricQuery
    from app.settings import Settings

cli = typer.Typer(
    help="TapFlow Metrics: a semantic metrics layer served over HTTP.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # click's plain help: rich is imported by the build progress bar alone
)


def _settings() -> Settings:
    from app.settings import Settings

    return Settings()


def _fail(exc: TapflowError, code: int = 1) -> typing.NoReturn:
    typer.echo(f"error: {exc.detail}", err=True)
    raise typer.Exit(code)


def _fail_problems(exc: DefinitionError) -> typing.NoReturn:
    """Every problem of invalid definitions as ``file:line: key: message``, then exit 1."""
    for problem in exc.errors:
        typer.echo(f"{problem['file']}:{problem['line']}: {problem['key']}: {problem['message']}")
    typer.echo(f"{len(exc.errors)} problem(s) found.", err=True)
    raise typer.Exit(1)


@cli.command()
def validate(
    no_db: Annotated[bool, typer.Option("--no-db", help="Check columns against declarations only.")] = False,
) -> None:
    """Validate metrics/ and entities/; print every problem as file:line and exit 1 if any."""
    from app.definitions.loader import load_project
    from app.engine.warehouse import is_external, warehouse_of

    settings = _settings()
    catalog = None
    try:
        if not no_db and (is_external(settings) or settings.database.exists()):
            with warehouse_of(settings) as warehouse:
                catalog = warehouse.catalog()
        project = load_project(settings.project_dir, catalog)
    except DefinitionError as exc:
        _fail_problems(exc)
    except TapflowError as exc:
        _fail(exc)
    against = "the database catalog" if catalog is not None else "the declared columns (no database)"
    for warning in project.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"OK: {len(project.entities)} entities, {len(project.metrics)} metrics, checked against {against}. "
        f"Definitions hash {project.hash[:12]}."
    )


@cli.command()
def migrate() -> None:
    """Apply pending migrations/NNNN_*.sql to the database file."""
    from app.engine.database import connection
    from app.engine.migrations import apply_migrations

    settings = _settings()
    try:
        with connection(settings.database) as con:
            done = apply_migrations(con, settings.migrations_dir)
    except TapflowError as exc:
        _fail(exc)
    if done:
        for m in done:
            typer.echo(f"applied {m.label}")
    else:
        typer.echo("database is up to date")


@cli.command()
def seed(
    scale: Annotated[float, typer.Option(help="Multiplies row counts (1 = about 2,000 customers).")] = 1.0,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if demo data is present.")] = False,
    build: Annotated[bool, typer.Option(help="Then build every entity table from entities/.")] = True,
) -> None:
    """Generate the deterministic TapFlow demo inputs (replacing what is there), then build the entity tables."""
    from app.cli.progress import BuildProgress, print_report
    from app.demo.generator import is_seeded
    from app.demo.generator import seed as run_seed
    from app.demo.pipeline import build_everything
    from app.engine.database import connection
    from app.engine.migrations import apply_migrations
    from app.engine.warehouse import is_external

    settings = _settings()
    if is_external(settings):
        _seed_elsewhere(settings, scale, if_empty, build)
        return
    try:
        with connection(settings.database, settings=settings) as con:
            apply_migrations(con, settings.migrations_dir)
            if if_empty and is_seeded(con):
                typer.echo("demo data present; not seeding (drop --if-empty to regenerate)")
                if build:
                    _finish_seed_build(con, settings)
                return
            report = run_seed(con, scale)
            _print_seed(report)
            if build:
                with BuildProgress(0, 0) as progress:
                    built = build_everything(con, settings.project_dir, settings.clock(), on_batch=progress.update)
                print_report(built.as_dict())
    except DefinitionError as exc:
        _fail_problems(exc)
    except TapflowError as exc:
        _fail(exc)


def _finish_seed_build(con: Any, settings: Settings, warehouse: Any = None) -> None:
    """The seed's build a stopped process left unfinished, finished now (the inputs are there, not every table)."""
    from app.cli.progress import BuildProgress, print_report
    from app.demo.pipeline import finish_seed_build

    with BuildProgress(0, 0) as progress:
        report = finish_seed_build(
            con, settings.project_dir, settings.clock(), on_batch=progress.update, warehouse=warehouse
        )
    if report is not None:
        typer.echo("finished the demo's build that a stopped seed left unfinished:")
        print_report(report.as_dict())


def _print_seed(report: Any) -> None:
    for table, rows in report.rows.items():
        typer.echo(f"{table:45s} {rows:>12,}")
    typer.echo(
        f"seeded {report.customers:,} customers, {report.total_rows:,} input rows in "
        f"{report.elapsed_s:.1f}s (scale {report.scale:g})"
    )


def _seed_elsewhere(settings: Settings, scale: float, if_empty: bool, build: bool) -> None:
    """The demo in the warehouse TAPFLOW_WAREHOUSE names: generated in a scratch DuckDB file, loaded by COPY
    (or as Parquet folders), and built there (the run recorded in the DuckDB file of TAPFLOW_DATABASE)."""
    from contextlib import nullcontext

    from app.cli.progress import BuildProgress, print_report
    from app.demo.generator import SEEDED_TABLES
    from app.demo.pipeline import seed_into
    from app.engine.database import connection
    from app.engine.migrations import apply_migrations
    from app.engine.warehouse import Buildable, Loadable, warehouse_of

    try:
        with warehouse_of(settings, create=True) as warehouse:
            if not isinstance(warehouse, Loadable):
                raise DatabaseError(f"{warehouse.name} cannot be loaded by `tapflow seed`.")
            builds = isinstance(warehouse, Buildable) and build  # its run recorded in the DuckDB file
            present = if_empty and set(SEEDED_TABLES) <= set(warehouse.catalog())
            with connection(settings.database, settings=settings) if builds else nullcontext() as con:
                if con is not None:
                    apply_migrations(con, settings.migrations_dir)
                if present:
                    typer.echo(f"demo data present in {warehouse.name}; not seeding (drop --if-empty to regenerate)")
                    if con is not None and isinstance(warehouse, Buildable):
                        _finish_seed_build(con, settings, warehouse)
                    return
                with BuildProgress(0, 0) as progress:
                    report, built, loaded = seed_into(
                        warehouse, con, scale, settings.project_dir, settings.clock(), on_batch=progress.update
                    )
            _print_seed(report)
            typer.echo(f"loaded {len(loaded)} tables, {sum(loaded.values()):,} rows into {warehouse.name}")
            if built is not None:
                print_report(built.as_dict())
    except DefinitionError as exc:
        _fail_problems(exc)
    except TapflowError as exc:
        _fail(exc)


@cli.command()
def build(
    names: Annotated[list[str] | None, typer.Argument(help="Tables to build (schema.table); none: all.")] = None,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Rebuild from this day.")] = None,
    end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Rebuild up to this day, exclusive.")
    ] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild every batch from start.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; build nothing.")] = False,
    url: Annotated[str | None, typer.Option(help="Ask the running service to build (it holds the file).")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="TAPFLOW_API_KEY", help="Admin key for --url.")] = None,
) -> None:
    """Build entity tables from their definitions: dependency order, batch by batch, resumable."""
    from app.engine.building.plan import BuildRequest

    day = (start.date() if start else None), (end.date() if end else None)
    request = BuildRequest(tuple(names or ()), day[0], day[1], full_refresh)
    if url:
        from app.cli.remote import build_remote

        try:
            report = build_remote(url, request, api_key, dry_run=dry_run)
        except TapflowError as exc:
            _fail(exc)
    else:
        report = _build_here(request, dry_run)
    if report is not None and (report["status"] != "success" or _failed_tests(report)):
        raise typer.Exit(1)


def _build_here(request: Any, dry_run: bool) -> dict[str, Any] | None:
    from app.cli.progress import BuildProgress, print_plan, print_report
    from app.definitions.loader import load_project
    from app.demo.clock import build_until
    from app.engine.building.plan import plan_build
    from app.engine.building.runner import run_build
    from app.engine.database import connection, lock_configuration
    from app.engine.migrations import apply_migrations
    from app.engine.warehouse import buildable, open_warehouse

    settings = _settings()
    try:
        with connection(settings.database, settings=settings, lock=False) as con:
            apply_migrations(con, settings.migrations_dir)
            lock_configuration(con)  # migrations done: no setting of this connection changes from here
            warehouse = open_warehouse(settings, con)
            try:
                target = buildable(warehouse, "`tapflow build`")
                catalog = warehouse.catalog()
                project = load_project(settings.project_dir, catalog)
                until = build_until(con, settings.clock(), catalog if target is not None else None)
                plan = plan_build(con, project, request, until, warehouse=target)
                print_plan(plan)
                if dry_run:
                    return None
                with BuildProgress(len(plan.batches), sum(b.done for b in plan.batches)) as progress:
                    report = run_build(
                        con,
                        project,
                        plan,
                        on_batch=progress.update,
                        batch_timeout_s=settings.build_batch_timeout_s,
                        warehouse=target,
                    )
            finally:
                warehouse.close()
    except DefinitionError as exc:
        _fail_problems(exc)
    except TapflowError as exc:
        _fail(exc)
    body = report.as_dict()
    print_report(body)
    return body


@cli.command()
def status(
    url: Annotated[str | None, typer.Option(help="Ask the running service (it holds the file).")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="TAPFLOW_API_KEY", help="Key for --url.")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """The morning check: last builds, failed tests, stale tables, late rows, grain coverage; exit 1 on errors."""
    import json

    from app.cli.status import print_status

    if url:
        from app.cli.remote import call

        try:
            report = call(url, "GET", "/status", api_key, needs=("status", "tables", "failed_tests", "late_rows"))
        except TapflowError as exc:
            _fail(exc)
    else:
        report = _with_database(_morning_check)
    if output == "json":
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        print_status(report)
    raise typer.Exit(1 if report["status"] == "error" else 0)


@cli.command("test")
def test_command(
    names: Annotated[list[str] | None, typer.Argument(help="Tables to test (schema.table); none: all.")] = None,
    url: Annotated[str | None, typer.Option(help="Ask the running service (it holds the file).")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="TAPFLOW_API_KEY", help="Admin key for --url.")] = None,
) -> None:
    """Run the data tests beside each table; list every failure (test, table, failing rows, sample); exit 1 if any."""
    from app.cli.status import print_tests

    if url:
        from app.cli.remote import call

        try:
            results = call(url, "POST", "/admin/tests", api_key, {"tables": list(names or ())}, needs=("results",))[
                "results"
            ]
        except TapflowError as exc:
            _fail(exc)
    else:
        results = _with_database(lambda con, wh, project, settings: _tests(con, wh, project, settings, names or []))
    failed = print_tests(results)
    raise typer.Exit(1 if failed else 0)


def _morning_check(con: Any, warehouse: Any, project: Any, settings: Settings) -> dict[str, Any]:
    from app.demo.clock import build_until
    from app.engine.building.status import morning_check
    from app.engine.warehouse import DuckDBWarehouse

    external = None if isinstance(warehouse, DuckDBWarehouse) else warehouse
    until = build_until(con, settings.clock(), external.catalog() if external is not None else None)
    return morning_check(con, project, until, warehouse=external)


def _tests(con: Any, warehouse: Any, project: Any, settings: Settings, names: list[str]) -> list[dict[str, Any]]:
    """The data tests, on the DuckDB file or on the warehouse TAPFLOW_WAREHOUSE names (recorded in the file)."""
    from app.engine.building.checks import test_tables
    from app.engine.warehouse import DuckDBWarehouse

    external = None if isinstance(warehouse, DuckDBWarehouse) else warehouse
    return [r.as_dict() for r in test_tables(con, project, names, settings.build_batch_timeout_s, warehouse=external)]


def _with_database(work: Callable[[Any, Any, Any, Settings], Any]) -> Any:
    """``work(con, warehouse, project, settings)``: the database file opened for writing (results are recorded
    there) and the warehouse TAPFLOW_WAREHOUSE names (the file itself when none)."""
    from app.definitions.loader import load_project
    from app.engine.database import connection, lock_configuration
    from app.engine.migrations import apply_migrations
    from app.engine.warehouse import open_warehouse

    settings = _settings()
    try:
        with connection(settings.database, settings=settings, lock=False) as con:
            apply_migrations(con, None)
            lock_configuration(con)
            warehouse = open_warehouse(settings, con)
            try:
                return work(con, warehouse, load_project(settings.project_dir, warehouse.catalog()), settings)
            finally:
                warehouse.close()
    except DefinitionError as exc:
        _fail_problems(exc)
    except TapflowError as exc:
        _fail(exc)


def _warehouse_catalog(settings: Settings) -> dict[str, dict[str, str]] | None:
    """The catalog of the warehouse TAPFLOW_WAREHOUSE names (None: the DuckDB file is the warehouse)."""
    from app.engine.warehouse import is_external, warehouse_of

    if not is_external(settings):
        return None
    with warehouse_of(settings) as warehouse:
        return warehouse.catalog()


def _failed_tests(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for table in report["tables"] for t in table["tests"] if t["status"] != "pass"]


def query_command(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the METRICS argument and one --option per query parameter, documented from
    the query model; it receives the checked ``query: MetricQuery`` instead."""
    from app.compiler.query import QueryOptions

    own = [
        p.replace(annotation=eval(p.annotation, command.__globals__) if isinstance(p.annotation, str) else p.annotation)
        for p in inspect.signature(command).parameters.values()
        if p.name != "query"
    ]
    options = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[_option_type(field.annotation) | None, typer.Option(help=field.description)],
        )
        for name, field in QueryOptions.model_fields.items()
    ]
    metrics = inspect.Parameter(
        "metrics",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[str, typer.Argument(help="Metric name(s), comma-separated.")],
    )

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        from pydantic import ValidationError

        from app.compiler.query import MetricQuery

        given = {name: kwargs.pop(name) for name in QueryOptions.model_fields}
        given = {name: value for name, value in given.items() if value is not None}
        try:
            query = MetricQuery(metrics=kwargs.pop("metrics"), **given).within(_settings())
        except TapflowError as exc:
            _fail(exc)
        except ValidationError as exc:
            _fail(InvalidQuery("; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())))
        command(query=query, **kwargs)

    wrapper.__signature__ = inspect.Signature([metrics, *own, *options])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {}
    return wrapper


def _option_type(annotation: Any) -> type:
    """bool (a --flag/--no-flag) and int as typed, str for the rest (pydantic checks and converts them)."""
    kinds = set(typing.get_args(annotation)) | {annotation}
    return bool if bool in kinds else int if int in kinds else str


def compile_metrics(
    query: MetricQuery,
    dialect: Annotated[str, typer.Option(help="duckdb, snowflake, bigquery, postgres, spark, trino, ...")] = "duckdb",
) -> None:
    """Print the SQL of a metric query (no database needed)."""
    from app.compiler.sql import compile_query
    from app.definitions.loader import load_project

    try:
        project = load_project(_settings().project_dir)
        typer.echo(compile_query(project, query).sql(dialect, pretty=True))
    except TapflowError as exc:
        _fail(exc)


def query_metrics(
    query: MetricQuery,
    url: Annotated[str | None, typer.Option(help="Ask the running service (it holds the file).")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="TAPFLOW_API_KEY", help="Key for --url.")] = None,
) -> None:
    """Run a metric query against the database and print CSV."""
    if url:
        from app.cli.remote import fetch_text

        try:
            body = query.model_dump(mode="json", exclude_none=True) | {"format": "csv"}
            sys.stdout.write(fetch_text(url, "POST", "/query", api_key, body))
        except TapflowError as exc:
            _fail(exc)
        return
    from app.definitions.loader import load_project
    from app.engine.csvout import write_csv
    from app.engine.runner import run_metric_query
    from app.engine.warehouse import warehouse_of

    settings = _settings()
    try:
        with warehouse_of(settings) as warehouse:
            project = load_project(settings.project_dir, warehouse.catalog())
            result = run_metric_query(warehouse, project, query, timeout_s=settings.query_timeout_s)
    except TapflowError as exc:
        _fail(exc)
    write_csv(sys.stdout, [c.name for c in result.columns], result.rows)
    if result.truncated:
        typer.echo(f"(truncated at {query.limit} rows; raise --limit)", err=True)


@cli.command()
def deprecations(
    url: Annotated[str | None, typer.Option(help="Ask the running service (it holds the file).")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="TAPFLOW_API_KEY", help="Key for --url.")] = None,
) -> None:
    """The migration dashboard: deprecated objects, days to sunset, dependents, consumers (30 days)."""
    from app.definitions.loader import load_project
    from app.engine.database import connection, read_catalog
    from app.engine.statedb import open_state
    from app.governance.dashboard import dashboard

    settings = _settings()
    try:
        if url:
            from app.cli.remote import call

            entries = call(url, "GET", "/deprecations", api_key, needs=("deprecations",))["deprecations"]
        else:
            with connection(settings.database, read_only=True, settings=settings) as con:
                catalog = _warehouse_catalog(settings) or read_catalog(con)
                statedb = open_state(settings, con)
                try:
                    entries = dashboard(load_project(settings.project_dir, catalog), statedb, settings.clock())
                finally:
                    statedb.close()
    except TapflowError as exc:
        _fail(exc)
    rows = [
        (
            e["kind"],
            e["name"],
            e["sunset_date"] or "-",
            "-" if e["days_to_sunset"] is None else str(e["days_to_sunset"]),
            e["replaced_by"] or "-",
            ", ".join(d["name"] for d in e["dependents"]) or "-",
            ", ".join(f"{c['consumer']} ({c['requests_30d']})" for c in e["consumers"] if c["requests_30d"]) or "-",
        )
        for e in entries
    ]
    header = ("kind", "name", "sunset", "days", "replaced by", "dependents", "consumers, requests in 30 days")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        typer.echo("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


@cli.command()
def impact(
    base: Annotated[str, typer.Option(help="The git ref to compare the working tree's definitions with.")],
    url: Annotated[
        str | None, typer.Option(help="Post the diff to a running service instead of computing here.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
    api_key: Annotated[str | None, typer.Option(envvar="TAPFLOW_API_KEY", help="Key for --url.")] = None,
) -> None:
    """Impact of the definition changes since BASE: prints the report; exit 0 pass, 1 fail, 2 error."""
    import json

    from app.definitions.loader import read_definition_files
    from app.governance.gitfiles import files_at, unified_diff

    settings = _settings()
    try:
        old_files = files_at(settings.project_dir, base)
        new_files = read_definition_files(settings.project_dir)
        if url:
            body = _post_impact(url, unified_diff(old_files, new_files), api_key)
        else:
            body = _local_impact(settings, old_files, new_files)
    except DefinitionError as exc:
        typer.echo(f"error: the definitions at {base} do not validate:\n{exc.detail}", err=True)
        raise typer.Exit(2) from None
    except TapflowError as exc:
        _fail(exc, 2)
    typer.echo(json.dumps(body, indent=2, default=str) if output == "json" else body["markdown"])
    raise typer.Exit(0 if body["verdict"] == "pass" else 1)


def _local_impact(settings: Settings, old_files: dict[str, str], new_files: dict[str, str]) -> dict[str, Any]:
    import duckdb

    from app.definitions.loader import load_texts
    from app.engine.database import connect, read_catalog
    from app.engine.statedb import open_state
    from app.engine.warehouse import is_external, open_warehouse
    from app.governance.impact import analyze
    from app.governance.report import render_markdown

    con: duckdb.DuckDBPyConnection | None = None
    catalog: dict[str, dict[str, str]] | None = None
    note: str | None = None
    warehouse, statedb = None, None
    if settings.database.exists():
        try:
            con = connect(settings.database, read_only=True, settings=settings)
            catalog = read_catalog(con)
            statedb = open_state(settings, con)
            if is_external(settings):
                warehouse = open_warehouse(settings, con)
                catalog = warehouse.catalog()
        except DatabaseError as exc:
            note = f"Database not used ({exc.detail}); pass --url to ask the running service."
    try:
        old = load_texts(old_files, catalog)
        report = analyze(
            old,
            new_files,
            catalog=catalog,
            con=con,
            statedb=statedb,
            warehouse=warehouse,
            now=settings.clock(),
            timeout_s=settings.query_timeout_s,
            base=settings.project_dir,
        )
    finally:
        for opened in (warehouse, statedb):
            if opened is not None:
                opened.close()
        if con is not None:
            con.close()
    if note:
        report.notes.insert(0, note)
    return report.as_dict() | {"markdown": render_markdown(report)}


def _post_impact(url: str, diff: str, api_key: str | None) -> dict[str, Any]:
    import httpx

    headers = {"content-type": "text/x-diff", "X-Consumer": "tapflow-impact-cli"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        response = httpx.post(url.rstrip("/") + "/impact", content=diff.encode(), headers=headers, timeout=120)
    except httpx.HTTPError as exc:
        raise TapflowError(f"Could not reach {url}: {exc}") from exc
    if response.status_code != 200:
        raise TapflowError(f"{url} answered {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default TAPFLOW_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default TAPFLOW_PORT).")] = None,
) -> None:
    """Serve the HTTP API with uvicorn; invalid definitions are listed as file:line and exit 1."""
    import uvicorn

    from app.api.main import create_app
    from app.api.serving import collect_less, server_config
    from app.api.state import ServiceState

    collect_less()
    settings = _settings()
    try:
        state = ServiceState.open(settings)  # the database and the definitions, checked before serving
    except DefinitionError as exc:
        _fail_problems(exc)
    except TapflowError as exc:
        _fail(exc)
    try:
        app = create_app(settings, state=state)
        uvicorn.Server(server_config(app, settings, host or settings.host, port or settings.port)).run()
    except TapflowError as exc:
        _fail(exc)
    finally:
        state.close()  # the lifespan closes it at shutdown; this covers a server that never started


@cli.command()
def docs(
    out: Annotated[Path, typer.Option(help="The folder to write the site into (made if missing).")],
    since: Annotated[
        str | None, typer.Option(help="Also write CHANGELOG.md: the breaking changes since this git ref.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="With --since: up to this ref (default: the working tree).")] = None,
    base_url: Annotated[
        str, typer.Option(help="The service's address, for the curl and CSV links on each page.")
    ] = "http://localhost:8000",
) -> None:
    """The web catalog as a static site (charts from a snapshot of the data taken now), Markdown pages per metric
    and entity, and with --since a changelog of breaking changes. Reads the database file (not while served)."""
    from app.api.state import ServiceState
    from app.cli.docs import write_site

    settings = _settings()
    try:
        state = ServiceState.open(settings, serving=False)  # the registry is left as the service keeps it
    except DefinitionError as exc:
        _fail_problems(exc)
    except DatabaseBusy:
        _fail(
            DatabaseBusy(
                f"Database file '{settings.database}' is in use by a running service: stop it, or point "
                "TAPFLOW_DATABASE at a copy of the file (docs does not change its data)."
            )
        )
    except TapflowError as exc:
        _fail(exc)
    try:
        counts = write_site(state, out, base_url=base_url, since=since, until=until)
    except TapflowError as exc:
        _fail(exc)
    finally:
        state.close()
    typer.echo(
        f"wrote {counts['html']} pages and {counts['markdown']} Markdown files to {out}; open {out / 'index.html'}"
    )


QUERY_COMMANDS: dict[str, Callable[..., None]] = {"compile": compile_metrics, "query": query_metrics}


def add_query_commands(args: list[str]) -> None:
    """Register ``compile`` and ``query``. Their options come from the query model (pydantic), so they are
    built in full only for the command that runs (or shows its help); the other is listed by its docstring,
    and ``tapflow --help`` and every other command start without pydantic."""
    chosen = next((arg for arg in args if not arg.startswith("-")), None)
    for name, command in QUERY_COMMANDS.items():
        cli.command(name)(query_command(command) if name == chosen else _listed(command))


def _listed(command: Callable[..., None]) -> Callable[[], None]:
    def listed() -> None:  # never runs: a command that runs is registered in full
        raise typer.Exit(2)

    listed.__doc__ = command.__doc__
    return listed


def main() -> None:
    add_query_commands(sys.argv[1:])
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
