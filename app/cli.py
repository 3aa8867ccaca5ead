"""The ``tapflow`` command line: validate, migrate, seed, serve."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.errors import DefinitionError, TapflowError
from app.settings import Settings

cli = typer.Typer(
    help="TapFlow Metrics: a semantic metrics layer served over HTTP.", no_args_is_help=True, add_completion=False
)


def _settings() -> Settings:
    return Settings()


def _fail(exc: TapflowError, code: int = 1) -> None:
    typer.echo(f"error: {exc.detail}", err=True)
    raise typer.Exit(code)


@cli.command()
def validate(
    no_db: Annotated[bool, typer.Option("--no-db", help="Check columns against declarations only.")] = False,
) -> None:
    """Validate metrics/ and entities/; print every problem as file:line and exit 1 if any."""
    from app.definitions.loader import load_project
    from app.engine.database import connection, read_catalog

    settings = _settings()
    catalog = None
    try:
        if not no_db and settings.database.exists():
            with connection(settings.database, read_only=True) as con:
                catalog = read_catalog(con)
        project = load_project(settings.project_dir, catalog)
    except DefinitionError as exc:
        for problem in exc.errors:
            typer.echo(f"{problem['file']}:{problem['line']}: {problem['key']}: {problem['message']}")
        typer.echo(f"{len(exc.errors)} problem(s) found.", err=True)
        raise typer.Exit(1) from None
    except TapflowError as exc:
        _fail(exc)
    against = "the database catalog" if catalog is not None else "the declared columns (no database)"
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
            typer.echo(f"applied {m.path.name}")
    else:
        typer.echo("database is up to date")


@cli.command()
def seed(
    scale: Annotated[float, typer.Option(help="Multiplies row counts (1 = about 2,000 customers).")] = 1.0,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if demo data is present.")] = False,
) -> None:
    """Generate the deterministic TapFlow demo data (replaces what is there)."""
    from app.demo.generator import is_seeded
    from app.demo.generator import seed as run_seed
    from app.engine.database import connection
    from app.engine.migrations import apply_migrations

    settings = _settings()
    try:
        with connection(settings.database, settings=settings) as con:
            apply_migrations(con, settings.migrations_dir)
            if if_empty and is_seeded(con):
                typer.echo("demo data present; not seeding (drop --if-empty to regenerate)")
                return
            report = run_seed(con, scale)
    except TapflowError as exc:
        _fail(exc)
    for table, rows in report.rows.items():
        typer.echo(f"{table:45s} {rows:>12,}")
    typer.echo(
        f"seeded {report.customers:,} customers, {report.total_rows:,} rows in {report.elapsed_s:.1f}s "
        f"(scale {report.scale:g})"
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default TAPFLOW_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default TAPFLOW_PORT).")] = None,
) -> None:
    """Serve the HTTP API with uvicorn."""
    import uvicorn

    from app.api.main import create_app

    settings = _settings()
    try:
        app = create_app(settings)
        config = uvicorn.Config(
            app, host=host or settings.host, port=port or settings.port, log_level=settings.log_level
        )
        uvicorn.Server(config).run()
    except DefinitionError as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from None
    except TapflowError as exc:
        _fail(exc)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
