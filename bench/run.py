"""The benchmark (not tests): figures measured side by side in one run, printed as a Markdown
table and written to bench/results/latest.json.

    python bench/run.py [--scale 10]

What it measures (issue 6): compile latency of distinct queries; compile time of one query of
1/10/40/80 metrics; end-to-end latency through a real uvicorn server against the same SQL run
directly in DuckDB, with the floor beside them (bench/floor.py), over three draws of fresh processes;
cached dashboard queries (one client, then 32 concurrent clients with wrk); a rolling window against
hand-written pre-aggregated SQL; the server's peak RSS; the cold start of `tapflow compile`; and the
overhead of usage recording.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from server import Keepalive, bench_server, floor_server  # noqa: E402
from usage_overhead import measure as usage_overhead  # noqa: E402

from app.api.serving import COLLECTOR_THRESHOLDS  # noqa: E402
from app.compiler.query import MetricQuery  # noqa: E402
from app.compiler.sql import compile_query  # noqa: E402
from app.definitions.loader import load_project, load_texts, read_definition_files  # noqa: E402
from app.demo.clock import build_until  # noqa: E402
from app.demo.generator import SEEDED_TABLES, seed  # noqa: E402
from app.demo.pipeline import build_everything  # noqa: E402
from app.engine.building.plan import BuildRequest, plan_build  # noqa: E402
from app.engine.building.rollups import coverage  # noqa: E402
from app.engine.building.runner import run_build  # noqa: E402
from app.engine.database import connect, connection, read_catalog  # noqa: E402
from app.engine.migrations import apply_migrations  # noqa: E402
from app.engine.runner import run_metric_query  # noqa: E402

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"


def ms(seconds: float) -> float:
    return seconds * 1000


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_db(scale: float) -> Path:
    path = DATA / f"scale_{scale:g}.duckdb"
    DATA.mkdir(parents=True, exist_ok=True)
    with connection(path) as con:  # hardened like every connection of the project
        apply_migrations(con, ROOT / "migrations")
        seeded = con.execute("SELECT max(scale) FROM meta.seed_runs").fetchone()[0]
        if seeded != scale:
            log(f"seeding scale {scale:g} (once; kept in {path.relative_to(ROOT)})")
            seed(con, scale)
            build_everything(con, ROOT, datetime.now())
        else:  # kept from an earlier run: brought up to date (rollups added since included)
            project = load_project(ROOT, read_catalog(con))
            plan = plan_build(con, project, BuildRequest(), build_until(con, datetime.now()), resume=False)
            run_build(con, project, plan, origin="bench")
        con.execute("CHECKPOINT")
    return path


# -- compile -----------------------------------------------------------------------------------
SHAPES = [
    ("mrr", "month", ("customer_tier",)),
    ("arpa", "quarter", ("sales_region",)),
    ("new_mrr", "month", ("product_line",)),
    ("daily_active_users", "week", ("team.customer.sales_region",)),
    ("device_events", "hour", ("device_type",)),
    ("team_health_score", "month", ("customer.customer_tier",)),
    ("actions_per_session", "day", ("feature",)),
    ("subscription_mrr", "quarter", ("customer.customer_segment",)),
]
WHERE_FORMS = [
    "{d} <> '{v}'",
    "{d} IN ('{v}', '{v}x')",
    "{d} LIKE '{v}%' OR {d} IS NULL",
    "NOT {d} = '{v}'",
    "{d} BETWEEN '{v}' AND '{v}z'",
    "({d} <> '{v}' AND {d} <> '{v}y')",
]


def compile_stream(project, n: int) -> tuple[list[float], list[float]]:
    """n distinct queries, each with new filter values and limit; one in ten has an IN list of a new length (2 to
    201 values). Returns (all, new shapes): the new shapes are the compiles that found no compiled shape to reuse
    (the first of each query form, and an IN list in a power of two of lengths not seen before: shape.py pads a
    list to the next power of two)."""
    rng = random.Random(7)
    all_ms, new_ms = [], []
    for i in range(n):
        metric, grain, dims = SHAPES[i % len(SHAPES)]
        value = f"v{rng.randrange(10**9)}"
        if i % 10 == 0:
            items = ", ".join(f"'{value}{k}'" for k in range(2 + i // 10))
            where = f"{dims[0]} IN ({items})"
        else:
            where = WHERE_FORMS[i % len(WHERE_FORMS)].format(d=dims[0], v=value)
        q = MetricQuery(metrics=(metric,), grain=grain, dimensions=dims, limit=100 + i, where=where)
        started = time.perf_counter()
        compiled = compile_query(project, q)
        compiled.duckdb_sql  # noqa: B018 (the text DuckDB runs)
        elapsed = ms(time.perf_counter() - started)
        all_ms.append(elapsed)
        if not compiled.cached:
            new_ms.append(elapsed)
    return all_ms, new_ms


def compile_passes(project, n: int, passes: int) -> dict[str, tuple[list[float], list[float]]]:
    """``compile_stream`` ``passes`` times under each of the collector's settings, as the service runs
    (``serving.collect_less``) and Python's default, taking turns; each pass as the first, the project's caches
    (compiled shapes, paths, the data's end) emptied before it. One pass lasts about half a second, so a moment of
    the shared machine's noise would move a figure of one pass by half; pooled, it cannot."""
    settings = {"serving": COLLECTOR_THRESHOLDS, "python_default": gc.get_threshold()}
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in settings}
    for _ in range(passes):
        for name, thresholds in settings.items():
            gc.set_threshold(*thresholds)
            project.cache.clear()
            every, new = compile_stream(project, n)
            out[name][0].extend(every)
            out[name][1].extend(new)
    gc.set_threshold(*settings["python_default"])
    return out


def cold_shapes(project, rounds: int = 5) -> list[float]:
    """Each of the SHAPES with each WHERE_FORMS (48 ordinary dashboard shapes) compiled as never seen before
    (the compiled-shape cache emptied first): milliseconds of each."""
    out = []
    for _ in range(rounds):
        for i, (metric, grain, dims) in enumerate(SHAPES):
            for j, form in enumerate(WHERE_FORMS):
                where = form.format(d=dims[0], v=f"v{i}{j}")
                q = MetricQuery(metrics=(metric,), grain=grain, dimensions=dims, limit=100, where=where)
                project.cache.pop("compiled", None)
                project.cache.pop("queries", None)
                started = time.perf_counter()
                compile_query(project, q).duckdb_sql  # noqa: B018
                out.append(ms(time.perf_counter() - started))
    return out


def bench_project(catalog) -> tuple:
    """The shipped definitions plus 80 generated metrics over four tables (for the multi-metric compile)."""
    files = read_definition_files(ROOT)
    tables = [
        (
            "entity_customers_daily",
            "snapshot_date",
            ["monthly_recurring_revenue", "annual_recurring_revenue", "active_subscriptions", "lifetime_revenue"],
            ["customer_tier", "sales_region"],
        ),
        (
            "entity_subscriptions_monthly",
            "month_start",
            ["mrr", "new_mrr", "expansion_mrr", "churned_mrr"],
            ["product_line", "customer.sales_region"],
        ),
        (
            "entity_teams_daily",
            "snapshot_date",
            ["team_size", "active_users", "sessions", "actions"],
            ["team_type", "customer.sales_region"],
        ),
        (
            "stg_app__user_activities",
            "activity_timestamp",
            ["actions_taken"],
            ["feature", "team.customer.sales_region"],
        ),
    ]
    lines = ["version: 2", "metrics:"]
    names = []
    for i in range(80):
        table, ts, columns, dims = tables[i % 4]
        method = ["sum", "max", "min", "average"][(i // 4) % 4]
        name = f"bench_metric_{i:02d}"
        names.append(name)
        lines += [
            f"  - name: {name}",
            f"    model: ref('{table}')",
            f"    calculation_method: {method}",
            f"    expression: {columns[i % len(columns)]}",
            f"    timestamp: {ts}",
            f"    dimensions: [{', '.join(dims)}]",
        ]
        if i % 5 == 0:
            lines += ["    filters:", f"      - {{field: {ts}, operator: 'is not', value: null}}"]
    files["metrics/zz_bench.yml"] = "\n".join(lines) + "\n"
    return load_texts(files, catalog), names


def multi_metric_compile(project, names: list[str]) -> dict[int, float]:
    out = {}
    for n in (1, 10, 40, 80):
        times = []
        for _ in range(7):
            project.cache.clear()
            q = MetricQuery(metrics=tuple(names[:n]), grain="month", limit=1000)
            started = time.perf_counter()
            compile_query(project, q).duckdb_sql  # noqa: B018
            times.append(ms(time.perf_counter() - started))
        out[n] = statistics.median(times)
    return out


# -- end to end ----------------------------------------------------------------------------------
E2E_QUERIES = [  # each takes 10 to 100 ms in DuckDB at scale 10 on this machine
    ("/metrics/mrr", {"grain": "month", "start": "2026-07-01"}),
    ("/metrics/mrr", {"grain": "week", "start": "2026-06-01", "dimensions": "sales_region"}),
    ("/metrics/sessions", {"grain": "day", "start": "2026-10-01"}),
    ("/metrics/actions", {"grain": "week", "start": "2026-08-01", "dimensions": "feature"}),
    ("/metrics/daily_active_users", {"grain": "day", "start": "2026-10-01"}),
    ("/metrics/device_events", {"grain": "day", "dimensions": "device_type"}),
    ("/metrics/team_size", {"grain": "week", "start": "2026-09-01", "dimensions": "team_type"}),
    ("/metrics/arpa", {"grain": "month", "start": "2026-01-01", "dimensions": "customer_tier"}),
    ("/metrics/online_devices", {"grain": "day", "dimensions": "location.city"}),
]


def query_of(path: str, params: dict[str, str]) -> MetricQuery:
    return MetricQuery(
        metrics=(path.rsplit("/", 1)[1],),
        grain=params.get("grain"),
        dimensions=tuple(d for d in params.get("dimensions", "").split(",") if d),
        start=date.fromisoformat(params["start"]) if "start" in params else None,
        pre_aggregations=params.get("pre_aggregations", "auto"),
    )


def side_by_side(
    clients: dict[str, Callable[[str, dict], tuple[int, dict[str, str], bytes]]],
    url: str,
    params: dict,
    raw,
    sql: str,
    bound: dict,
    rounds: int,
    steps: dict[str, list[dict[str, float]]] | None = None,
) -> tuple[dict[str, list[float]], list[float]]:
    """Milliseconds of ``rounds`` requests to the service through each of ``clients`` (name -> get) and of the
    same many runs of ``sql`` directly, interleaved (the machine's noise falls on all of them); the
    Server-Timing steps of each client named in ``steps`` appended to its list there."""
    served: dict[str, list[float]] = {name: [] for name in clients}
    direct = []
    for _ in range(rounds):
        for name, get in clients.items():
            started = time.perf_counter()
            status, headers, _ = get(url, params)
            served[name].append(ms(time.perf_counter() - started))
            assert status == 200, (url, params, status)
            if steps is not None and name in steps:
                steps[name].append(server_timing(headers.get("server-timing", "")) | {"total": served[name][-1]})
        started = time.perf_counter()
        raw.execute(sql, bound).fetchall()
        direct.append(ms(time.perf_counter() - started))
    return served, direct


def steps_p50(steps: list[dict[str, float]]) -> dict[str, float]:
    """The median of each step over the rounds, and of ``outside``: each round's total less its steps."""
    outside = [s["total"] - sum(v for k, v in s.items() if k != "total") for s in steps]
    return {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]} | {
        "outside": round(statistics.median(outside), 3)
    }


def paired(served: list[float], direct: list[float]) -> float:
    """The median of the rounds' ratios: ``served[i]`` over ``direct[i]``, the two measured in the same round."""
    return round(statistics.median(a / b for a, b in zip(served, direct, strict=True)), 3)


def httpx_get(client: httpx.Client) -> Callable[[str, dict], tuple[int, dict[str, str], bytes]]:
    def get(url: str, params: dict) -> tuple[int, dict[str, str], bytes]:
        response = client.get(url, params=params)
        return response.status_code, dict(response.headers), response.content

    return get


def server_timing(header: str) -> dict[str, float]:
    """``compile;dur=0.2, db;dur=51.0`` as {"compile": 0.2, "db": 51.0}."""
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


E2E_DRAWS = 3  # server processes the end-to-end rounds are spread over (each with its own raw connection)


def e2e_vs_raw(db: Path, project, rounds: int, draws: int = E2E_DRAWS) -> dict:
    """The base tables (pre_aggregations=off): the service against the same SQL run directly in DuckDB, and beside
    them the floor (bench/floor.py: the same SQL behind a bare ASGI application on the same uvicorn).

    The ``rounds`` of each query are spread over ``draws`` runs of fresh processes: the same SQL on the same data
    runs up to 5% faster or slower in one process than in another, a draw that holds for the process's life (its
    threads' and memory's placement), which would otherwise decide a figure a few percent wide. Each draw measures
    every figure as one run did before (a ratio of medians per query, their median over the queries); the figure
    is the median of the draws'. A ratio of medians pooled over the draws would not do: the machine's speed
    changes between draws, and a pool mixes a fast draw's raw runs with a slow draw's requests (the floor came
    out faster than raw DuckDB that way, 0.994). The ``paired`` figures are over every round of every draw, each
    round's own ratio being measured within a few hundred ms."""
    raw_db = db.parent / "raw_copy.duckdb"
    shutil.copy(db, raw_db)
    compiled = [
        compile_query(project, query_of(path, params | {"pre_aggregations": "off"})) for path, params in E2E_QUERIES
    ]
    queries = [(c.duckdb_sql, c.params) for c in compiled]
    pooled: list[dict[str, list]] = [{} for _ in E2E_QUERIES]
    figures, rss = [], 0.0
    for _ in range(draws):
        drawn, peak = _e2e_draw(db, raw_db, queries, -(-rounds // draws))
        rss = max(rss, peak)
        figures.append(_e2e_figures(drawn))
        for into, got in zip(pooled, drawn, strict=True):
            for k, v in got.items():
                into.setdefault(k, []).extend(v)
    raw_db.unlink()
    out = _e2e_figures(pooled)
    for i, q in enumerate(out["queries"]):  # each draw's own ratios of medians, and their median
        for key in ("ratio", "ratio_httpx", "ratio_floor"):
            q[f"{key}_by_draw"] = [f["queries"][i][key] for f in figures]
            q[key] = statistics.median(q[f"{key}_by_draw"])
    for key in ("ratio", "ratio_httpx", "ratio_floor"):
        out[key] = statistics.median(f[key] for f in figures)
    return out | {
        "peak_rss_mib_default_memory_limit": round(rss, 1),
        "ratio_by_draw": [f["ratio"] for f in figures],
        "ratio_floor_by_draw": [f["ratio_floor"] for f in figures],
    }


def _e2e_draw(db: Path, raw_db: Path, queries: list[tuple[str, dict]], rounds: int) -> tuple[list[dict], float]:
    """One draw: a service, a floor and a raw connection, fresh; ``rounds`` of each query. Per query, the
    milliseconds of each side's rounds and the Server-Timing steps; and the service's peak RSS."""
    raw = connect(raw_db, read_only=True)
    out = []
    with (
        bench_server(db, cache_ttl_s="0", usage_tracking="false") as server,
        httpx.Client(base_url=server.base, timeout=120) as client,
        floor_server(raw_db, queries) as floor_base,
    ):
        lean, floor = Keepalive(server.base), Keepalive(floor_base)
        for i, (path, base_params) in enumerate(E2E_QUERIES):
            params = base_params | {"pre_aggregations": "off"}
            sql, bound = queries[i]
            clients = {
                "http.client": lean.get,
                "httpx": httpx_get(client),
                "floor": lambda _url, _params, i=i: floor.get(f"/q/{i}", {}),
            }
            for _ in range(2):  # warm every side
                for get in clients.values():
                    get(path, params)
                raw.execute(sql, bound).fetchall()
            steps: dict[str, list[dict[str, float]]] = {"http.client": [], "floor": []}
            both, direct = side_by_side(clients, path, params, raw, sql, bound, rounds, steps)
            out.append(
                {
                    "query": [f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"],
                    "served": both["http.client"],
                    "httpx": both["httpx"],
                    "floor": both["floor"],
                    "raw": direct,
                    "steps": steps["http.client"],
                    "floor_steps": steps["floor"],
                }
            )
        rss = server.peak_rss_mib()
        lean.close()
        floor.close()
    raw.close()
    return out, rss


def _e2e_figures(measured: list[dict[str, list]]) -> dict:
    """Per query and over the queries of 10-100 ms: each side's p50 over the raw run's (the median of the per-query
    ratios), and the median of the rounds' own ratios (``paired``)."""
    per_query = []
    for m in measured:
        served, direct, bare, through_httpx = m["served"], m["raw"], m["floor"], m["httpx"]
        per_query.append(
            {
                "query": m["query"][0],
                "served_p50_ms": round(statistics.median(served), 2),
                "raw_p50_ms": round(statistics.median(direct), 2),
                "ratio": round(statistics.median(served) / statistics.median(direct), 3),
                "served_httpx_p50_ms": round(statistics.median(through_httpx), 2),
                "ratio_httpx": round(statistics.median(through_httpx) / statistics.median(direct), 3),
                "floor_p50_ms": round(statistics.median(bare), 2),
                "ratio_floor": round(statistics.median(bare) / statistics.median(direct), 3),
                # each round's own ratio (its requests and its raw run measured within a few hundred ms of
                # each other, in the same stretch of the machine's speed), and the median of those
                "ratio_paired": paired(served, direct),
                "ratio_floor_paired": paired(bare, direct),
                # the service's own steps (Server-Timing), and the rest: HTTP, routing, the thread hop
                "steps_p50_ms": steps_p50(m["steps"]),
                # the floor's: its database step (cursor, execute, fetch), and the rest
                "floor_steps_p50_ms": steps_p50(m["floor_steps"]),
            }
        )
    in_range = [q for q in per_query if 10 <= q["raw_p50_ms"] <= 100]
    judged = in_range or per_query
    return {
        "queries": per_query,
        "ratio": round(statistics.median([q["ratio"] for q in judged]), 3),
        "ratio_httpx": round(statistics.median([q["ratio_httpx"] for q in judged]), 3),
        "ratio_floor": round(statistics.median([q["ratio_floor"] for q in judged]), 3),
        "ratio_paired": round(statistics.median([q["ratio_paired"] for q in judged]), 3),
        "ratio_floor_paired": round(statistics.median([q["ratio_floor_paired"] for q in judged]), 3),
        "queries_in_10_100ms": len(in_range),
    }


# -- pre-aggregations ------------------------------------------------------------------------------
LAST_SNAPSHOT = """
    WITH last AS (SELECT CAST(date_trunc('{grain}', snapshot_date) AS DATE) AS p, max(snapshot_date) AS d
                  FROM entity.entity_customers_daily WHERE customer_status = 'active' GROUP BY 1)
    SELECT l.p{dims}, {value} FROM entity.entity_customers_daily c JOIN last l ON c.snapshot_date = l.d
    WHERE c.customer_status = 'active' GROUP BY ALL ORDER BY ALL
"""
PREAGG_DASHBOARD = [  # the shipped rollups' dashboards, and the SQL an engineer would write over the base tables
    (
        "/metrics/device_events",
        {"grain": "day", "dimensions": "device_type"},
        "SELECT CAST(date_trunc('day', h.grain_timestamp) AS DATE), d.device_type, sum(h.event_count) "
        "FROM entity.entity_devices_hourly h LEFT JOIN entity.entity_devices d USING (device_id) "
        "GROUP BY ALL ORDER BY ALL",
    ),
    (
        "/metrics/device_errors",
        {"grain": "week", "dimensions": "location.city"},
        "SELECT CAST(date_trunc('week', h.grain_timestamp) AS DATE), l.city, sum(h.error_count) "
        "FROM entity.entity_devices_hourly h LEFT JOIN entity.entity_locations l USING (location_id) "
        "GROUP BY ALL ORDER BY ALL",
    ),
    (
        "/metrics/device_uptime_pct",
        {"grain": "day"},
        "SELECT CAST(date_trunc('day', grain_timestamp) AS DATE), avg(uptime_seconds / 36.0) "
        "FROM entity.entity_devices_hourly GROUP BY ALL ORDER BY ALL",
    ),
    (
        "/metrics/mrr",
        {"grain": "month"},
        LAST_SNAPSHOT.format(grain="month", dims="", value="sum(c.monthly_recurring_revenue)"),
    ),
    (
        "/metrics/arr",
        {"grain": "quarter", "dimensions": "customer_tier"},
        LAST_SNAPSHOT.format(grain="quarter", dims=", c.customer_tier", value="sum(c.annual_recurring_revenue)"),
    ),
    (
        "/metrics/active_customers",
        {"grain": "month", "dimensions": "sales_region"},
        LAST_SNAPSHOT.format(grain="month", dims=", c.sales_region", value="count(DISTINCT c.customer_id)"),
    ),
    (
        "/metrics/team_size",
        {"grain": "week"},
        "WITH last AS (SELECT CAST(date_trunc('week', snapshot_date) AS DATE) AS p, max(snapshot_date) AS d "
        "FROM entity.entity_teams_daily GROUP BY 1) SELECT l.p, sum(t.team_size) FROM entity.entity_teams_daily t "
        "JOIN last l ON t.snapshot_date = l.d GROUP BY ALL ORDER BY ALL",
    ),
    (
        "/metrics/active_user_percentage",
        {"grain": "week"},
        "SELECT CAST(date_trunc('week', snapshot_date) AS DATE), 100.0 * sum(active_users) / sum(team_size) "
        "FROM entity.entity_teams_daily GROUP BY ALL ORDER BY ALL",
    ),
]


def preagg_vs_raw(db: Path, rounds: int) -> dict:
    """The dashboards answered from rollups by the service (its result cache off) against hand-written SQL over
    the base tables run directly in DuckDB, side by side; the numbers are checked equal first."""
    raw_db = db.parent / "raw_copy.duckdb"
    shutil.copy(db, raw_db)
    raw = connect(raw_db, read_only=True)
    per_query = []
    with bench_server(db, cache_ttl_s="0", usage_tracking="false") as server, httpx.Client(timeout=120) as client:
        for path, params, sql in PREAGG_DASHBOARD:
            body = client.get(server.base + path, params=params).json()
            used = body["meta"]["pre_aggregation"]["used"]
            assert used, (path, body["meta"]["pre_aggregation"])
            hand = raw.execute(sql).fetchall()
            got = [tuple(r.values()) for r in body["rows"]]
            assert len(got) == len(hand) and all(
                round(float(a[-1]), 6) == round(float(b[-1]), 6) for a, b in zip(got, hand, strict=True)
            ), (path, got[:3], hand[:3])
            lean = Keepalive(server.base)
            both, direct = side_by_side({"http.client": lean.get}, path, params, raw, sql, {}, rounds)
            served = both["http.client"]
            lean.close()
            per_query.append(
                {
                    "query": f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}",
                    "rollup": used,
                    "served_p50_ms": round(statistics.median(served), 2),
                    "handwritten_base_p50_ms": round(statistics.median(direct), 2),
                    "ratio": round(statistics.median(served) / statistics.median(direct), 3),
                }
            )
    raw.close()
    raw_db.unlink()
    return {"queries": per_query, "ratio": round(statistics.median([q["ratio"] for q in per_query]), 3)}


def rollup_builds(db: Path) -> dict:
    """Every rollup built from scratch (full refresh) on a copy of the data: seconds and rows of each."""
    copy = db.parent / "rollups_copy.duckdb"
    shutil.copy(db, copy)
    with connection(copy) as con:
        project = load_project(ROOT, read_catalog(con))
        names = tuple(project.rollups)
        plan = plan_build(con, project, BuildRequest(names, full_refresh=True), datetime.now(), resume=False)
        report = run_build(con, project, plan, origin="bench")
    copy.unlink()
    physical = {r.physical: r.name for r in project.rollups.values()}
    return {
        physical[t.name]: {"seconds": round(t.seconds, 2), "rows": t.rows, "batches": t.batches}
        for t in report.tables
        if t.name in physical
    }


# -- cached dashboards --------------------------------------------------------------------------
DASHBOARD = [
    ("/metrics/mrr", {"grain": "month", "start": "2026-01-01"}),
    ("/metrics/arr", {"grain": "quarter"}),
    ("/metrics/active_customers", {"grain": "month", "dimensions": "customer_tier"}),
    ("/metrics/arpa", {"grain": "month", "start": "2025-11-01"}),
    ("/metrics/new_mrr", {"grain": "month", "dimensions": "product_line", "start": "2026-01-01"}),
    ("/metrics/net_new_mrr", {"grain": "quarter"}),
    ("/metrics/daily_active_users", {"grain": "month", "start": "2026-06-01"}),
    ("/metrics/team_health_score", {"grain": "quarter"}),
]


MEMORY_LIMIT = "64MB"


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    log("installing Debian's wrk (load generator)")
    for cmd in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        subprocess.run(cmd, capture_output=True, timeout=300)
    return shutil.which("wrk")


def cached_load(db: Path, seconds: int) -> dict:
    urls = [path + "?" + "&".join(f"{k}={v}" for k, v in params.items()) for path, params in DASHBOARD]
    # a dashboard-serving instance: DuckDB's buffer pool capped (its default is 80% of the RAM)
    server = bench_server(db, memory_limit=MEMORY_LIMIT)
    with server, httpx.Client(base_url=server.base, timeout=120) as client:
        for url in urls:
            client.get(url).raise_for_status()  # fill the cache
        one_client = []
        for url in itertools.islice(itertools.cycle(urls), 2000):
            started = time.perf_counter()
            response = client.get(url)
            one_client.append(ms(time.perf_counter() - started))
            assert response.status_code == 200
        wrk = ensure_wrk()
        result: dict = {
            "cached_p50_ms": round(statistics.median(one_client), 3),
            "cached_p99_ms": round(p(one_client, 99), 3),
        }
        if wrk:
            script = Path(tempfile.mkstemp(suffix=".lua")[1])
            script.write_text(
                "local urls = {" + ", ".join(json.dumps(u) for u in urls) + "}\n"
                "local i = 0\nrequest = function()\n  i = i % #urls + 1\n"
                "  return wrk.format('GET', urls[i])\nend\n"
            )
            out = subprocess.run(
                [wrk, "-t1", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), server.base],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            ).stdout
            script.unlink()
            rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
            non2xx = next((line for line in out.splitlines() if "Non-2xx" in line), "")
            result |= {
                "cached_rps": round(rps, 1),
                "load_generator": "wrk -t1 -c32",
                "wrk_errors": non2xx.strip() or "none",
                "wrk_p99": next((x.split()[1] for x in out.splitlines() if x.strip().startswith("99%")), None),
            }
        else:
            result |= {"cached_rps": None, "load_generator": "none (wrk unavailable)"}
        result["server_peak_rss_mib"] = round(server.peak_rss_mib(), 1)
        result["server_memory_limit"] = MEMORY_LIMIT
    return result


# -- rolling window ----------------------------------------------------------------------------
HANDWRITTEN_ROLLING = """
    WITH per_month AS (
        SELECT CAST(date_trunc('month', month_start) AS DATE) AS month, sum(new_mrr) AS v
        FROM entity.entity_subscriptions_monthly GROUP BY 1)
    SELECT month, sum(v) OVER (ORDER BY month RANGE BETWEEN INTERVAL 2 MONTH PRECEDING AND CURRENT ROW)
    FROM per_month ORDER BY month
"""


def rolling(con, project, rounds: int) -> dict:
    q = MetricQuery(metrics=("new_mrr_rolling_3m",), grain="month")
    known = coverage(con, project)  # as the service holds it (once per data version)
    ours, hand = [], []
    for i in range(rounds + 2):
        started = time.perf_counter()
        a = run_metric_query(con, project, q, timeout_s=120, rollups=known).rows
        t1 = ms(time.perf_counter() - started)
        started = time.perf_counter()
        b = con.execute(HANDWRITTEN_ROLLING).fetchall()
        t2 = ms(time.perf_counter() - started)
        if i >= 2:
            ours.append(t1)
            hand.append(t2)
    assert [round(r["new_mrr_rolling_3m"], 2) for r in a] == [round(float(v), 2) for _, v in b]
    return {
        "rolling_p50_ms": round(statistics.median(ours), 3),
        "handwritten_p50_ms": round(statistics.median(hand), 3),
        "rolling_over_handwritten_ratio": round(statistics.median(ours) / statistics.median(hand), 3),
    }


def cli_cold(runs: int, *args: str) -> float:
    """Median wall time of ``tapflow <args>`` as a new process."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "tapflow"), *args], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seconds", type=int, default=10, help="duration of the wrk load")
    args = parser.parse_args()
    started = time.time()

    db = build_db(args.scale)
    con = connect(db, read_only=True)
    catalog = read_catalog(con)
    project = load_project(ROOT, catalog)
    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SEEDED_TABLES}

    log("compile latency")
    default_collector = gc.get_threshold()
    passes = compile_passes(project, 2000, passes=5)
    (all_ms, new_ms), new_default_gc = passes["serving"], passes["python_default"][1]
    gc.set_threshold(*COLLECTOR_THRESHOLDS)  # as the service compiles
    cold_ms = cold_shapes(project)
    gc.set_threshold(*default_collector)
    big, names = bench_project(catalog)
    multi = multi_metric_compile(big, names)
    log("rolling window")
    roll = rolling(con, project, 15)
    con.close()
    log("end to end against raw DuckDB (base tables)")
    e2e = e2e_vs_raw(db, project, 60)
    log("dashboards from rollups against hand-written SQL over the base tables")
    preagg = preagg_vs_raw(db, 15)
    log("rollup builds")
    rollups = rollup_builds(db)
    log("cached dashboard load")
    cached = cached_load(db, args.seconds)
    log("usage recording overhead")
    usage = usage_overhead(db)
    log("CLI cold start")
    cli_help = cli_cold(7, "--help")  # the CLI's own start: typer and our modules (the "cold start")
    cli_compile = cli_cold(7, "compile", "mrr", "--grain", "month")  # plus pydantic, sqlglot, the definitions

    results = {
        "scale": args.scale,
        "rows": rows,
        "largest_table_rows": max(rows.values()),
        "compile_p50_ms": round(statistics.median(all_ms), 3),
        "compile_p99_ms": round(p(all_ms, 99), 3),
        "compile_new_shape_p50_ms": round(statistics.median(new_ms), 3),
        "compile_cold_shape_p50_ms": round(statistics.median(cold_ms), 3),
        "compile_queries": len(all_ms),
        "compile_new_shapes": len(new_ms),
        "compile_passes": 5,
        "compile_new_shape_p50_ms_python_default_collector": round(statistics.median(new_default_gc), 3),
        "compile_metrics_ms": {str(k): round(v, 3) for k, v in multi.items()},
        "compile_80_metrics_ms": round(multi[80], 3),
        "preagg_over_raw_ratio": preagg["ratio"],
        "preagg_queries": preagg["queries"],
        "rollup_build": rollups,
        "e2e_over_raw_ratio": e2e["ratio"],
        "e2e_over_raw_ratio_httpx_client": e2e["ratio_httpx"],
        "e2e_floor_over_raw_ratio": e2e["ratio_floor"],
        "e2e_over_raw_ratio_paired": e2e["ratio_paired"],
        "e2e_over_raw_ratio_by_draw": e2e["ratio_by_draw"],
        "e2e_floor_over_raw_ratio_by_draw": e2e["ratio_floor_by_draw"],
        "e2e_floor_over_raw_ratio_paired": e2e["ratio_floor_paired"],
        "e2e_queries": e2e["queries"],
        "e2e_queries_in_10_100ms": e2e["queries_in_10_100ms"],
        "server_peak_rss_default_memory_limit_mib": e2e["peak_rss_mib_default_memory_limit"],
        **{k: v for k, v in cached.items()},
        **roll,
        "cli_cold_s": round(cli_help, 3),
        "cli_compile_s": round(cli_compile, 3),
        **usage,
        "elapsed_s": round(time.time() - started, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    targets = {
        "compile_p50_ms": ("<=", 0.5),
        "compile_80_metrics_ms": ("<=", 30),
        "preagg_over_raw_ratio": ("<=", 0.1),
        "e2e_over_raw_ratio": ("<=", 1.05),
        "compile_new_shape_p50_ms": ("<=", 1.0),
        "cached_p50_ms": ("<=", 2),
        "cached_rps": (">=", 1500),
        "rolling_over_handwritten_ratio": ("<=", 1.5),
        "server_peak_rss_mib": ("<=", 300),
        "cli_cold_s": ("<=", 0.3),
    }
    print(
        f"Scale {args.scale:g}: largest table {max(rows.values()):,} rows "
        f"({max(rows, key=rows.get)}), {sum(rows.values()):,} rows in all.\n"
    )
    print("| figure | value | target | met |\n|---|---:|---:|:---:|")
    for key, (op, bound) in targets.items():
        value = results.get(key)
        met = value is not None and (value <= bound if op == "<=" else value >= bound)
        print(f"| {key} | {value} | {op} {bound} | {'yes' if met else 'NO'} |")
    extra = [
        "compile_new_shape_p50_ms_python_default_collector",
        "e2e_floor_over_raw_ratio",
        "e2e_over_raw_ratio_paired",
        "e2e_floor_over_raw_ratio_paired",
        "e2e_over_raw_ratio_by_draw",
        "e2e_floor_over_raw_ratio_by_draw",
        "compile_cold_shape_p50_ms",
        "cli_compile_s",
        "compile_p99_ms",
        "cached_p99_ms",
        "rolling_p50_ms",
        "handwritten_p50_ms",
        "usage_query_overhead_pct",
        "usage_cheap_overhead_pct",
    ]
    for key in extra:
        print(f"| {key} | {results.get(key)} | | |")
    print("\ncompile of one query by number of metrics (ms):", results["compile_metrics_ms"])
    print("dashboards from rollups (served, result cache off) against hand-written SQL over the base tables:")
    for q in preagg["queries"]:
        print(
            f"  {q['query']} ({q['rollup']}): served {q['served_p50_ms']} ms, hand-written "
            f"{q['handwritten_base_p50_ms']} ms, ratio {q['ratio']}"
        )
    print("rollup builds (full, scale):", rollups)
    print("end to end by query (base tables):")
    for q in e2e["queries"]:
        print(
            f"  {q['query']}: served {q['served_p50_ms']} ms, raw {q['raw_p50_ms']} ms, ratio {q['ratio']} "
            f"(through httpx {q['served_httpx_p50_ms']} ms, {q['ratio_httpx']}; floor {q['floor_p50_ms']} ms, "
            f"{q['ratio_floor']}; round by round: {q['ratio_paired']}, floor {q['ratio_floor_paired']}; "
            f"by draw {q['ratio_by_draw']}, floor {q['ratio_floor_by_draw']})"
        )
        print(f"    steps (ms, p50): {q['steps_p50_ms']}; the floor's: {q['floor_steps_p50_ms']}")
    print(f"\nwritten to bench/results/latest.json in {results['elapsed_s']} s")


if __name__ == "__main__":
    main()
