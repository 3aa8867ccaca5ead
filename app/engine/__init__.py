"""The engine: DuckDB connections, migrations, catalog and query execution (no HTTP)."""
