"""Periods in a time zone and weeks from another day, against oracles written in Python (zoneinfo) and hand SQL.

The warehouse holds events every 7 minutes (stored in UTC) around four daylight-saving changes: Berlin's
spring-forward (2026-03-29) and fall-back (2026-10-25) and São Paulo's of 2018-11-04 (midnight skipped) and
2019-02-17 (the evening of the 16th repeated); and a daily table keyed by DATE, which no zone may shift.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from app.compiler.query import MetricQuery
from app.definitions.loader import load_texts
from app.engine.database import read_catalog
from app.engine.runner import run_metric_query
from app.errors import InvalidQuery

AROUND = [date(2026, 3, 29), date(2026, 10, 25), date(2018, 11, 4), date(2019, 2, 17), date(2025, 10, 26)]
CHANGE = datetime(2026, 10, 25, 1, 10)  # users move from silver to gold (UTC): inside Berlin's repeated hour
STEP = timedelta(minutes=7)

WAREHOUSE = """
CREATE SCHEMA app;
CREATE TABLE app.events (event_id INTEGER, happened_at TIMESTAMP, amount INTEGER, channel VARCHAR, user_id INTEGER);
CREATE TABLE app.users AS SELECT range::INTEGER AS user_id, 'gold' AS tier FROM range(4);
CREATE TABLE app.users_history AS
SELECT range::INTEGER AS user_id, 'silver' AS tier, TIMESTAMP '2000-01-01' AS valid_from,
       TIMESTAMP '2026-10-25 01:10:00' AS valid_to FROM range(4)
UNION ALL
SELECT range::INTEGER, 'gold', TIMESTAMP '2026-10-25 01:10:00', NULL FROM range(4);
CREATE TABLE app.balances AS
SELECT DATE '2026-10-20' + i::INTEGER AS day, 'a' || (j::VARCHAR) AS account, i * 10 + j AS balance
FROM range(0, 12) r(i), range(0, 3) s(j);
"""

DEFINITIONS = {
    "entities/events.yml": """
version: 2
entities:
  - name: events
    primary_key: event_id
    tables:
      current: {name: app.events, grain: event, timestamp: happened_at}
    dimensions:
      - {name: channel}
    relationships:
      - {name: user, entity: users, type: many_to_one, foreign_key: user_id}
  - name: users
    primary_key: user_id
    tables:
      current: app.users
      history: {name: app.users_history, grain: none, timestamp: valid_from}
    dimensions:
      - {name: tier}
  - name: pings
    primary_key: ping_id
    tables:
      current: {name: app.pings, grain: event, timestamp: at_tz}
  - name: accounts
    primary_key: account
    tables:
      daily: {name: app.balances, grain: day, timestamp: day}
""",
    "metrics/events.yml": """
version: 2
metrics:
  - {name: amount, entity: events, calculation_method: sum, expression: amount, timestamp: happened_at,
     dimensions: [channel, user.tier]}
  - {name: pings, entity: pings, calculation_method: count, expression: ping_id, timestamp: at_tz}
  - {name: balance, entity: accounts, calculation_method: sum, expression: balance, timestamp: day}
""",
}


def _events() -> list[tuple[int, datetime, int, str, int]]:
    out = []
    for day in AROUND:
        at = datetime(day.year, day.month, day.day) - timedelta(days=3)
        while at < datetime(day.year, day.month, day.day) + timedelta(days=4):
            i = len(out)
            out.append((i, at, i % 5 + 1, ("web", "ios", "android")[i % 3], i % 4))
            at += STEP
    return out


EVENTS = _events()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("zones")) / "zones.duckdb"
    con = duckdb.connect(str(path))
    con.execute(WAREHOUSE)
    con.executemany("INSERT INTO app.events VALUES (?, ?, ?, ?, ?)", EVENTS)
    con.execute(
        "CREATE TABLE app.pings AS SELECT event_id AS ping_id, happened_at AT TIME ZONE 'UTC' AS at_tz FROM app.events"
    )
    project = load_texts(DEFINITIONS, read_catalog(con))
    yield con, project
    con.close()


def answer(warehouse, **query) -> list[dict]:
    con, project = warehouse
    result = run_metric_query(con, project, MetricQuery(**query), timeout_s=60)
    return result.rows


def fall_back_day(warehouse, zone: str = "Europe/Berlin", **query) -> list[dict]:
    """``query`` over the whole of 25 October 2026 in ``zone`` (the night Berlin's clocks go back)."""
    return answer(warehouse, start="2026-10-25", end="2026-10-25", tz=zone, **query)


def local(at: datetime, zone: str) -> datetime:
    return at.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def oracle(zone: str, key, start: date, end: date) -> dict[str, int]:
    """Amount by period: each event's wall time in ``zone`` (Python's zoneinfo), bucketed by ``key``,
    for the wall-time days ``start`` to ``end`` inclusive."""
    sums: dict[str, int] = defaultdict(int)
    for _, at, amount, *_ in EVENTS:
        wall = local(at, zone)
        if start <= wall.date() <= end:
            sums[key(wall)] += amount
    return dict(sums)


def hour_of(wall: datetime) -> str:
    return wall.replace(minute=0, second=0).isoformat()  # keeps the offset: a repeated hour is told apart


def as_dict(rows: list[dict], metric: str = "amount") -> dict[str, int]:
    return {str(r["period"]): int(r[metric]) for r in rows}


@pytest.mark.parametrize(
    ("zone", "day", "hours", "offsets"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23, 2),
        ("Europe/Berlin", date(2026, 10, 25), 25, 2),
        ("America/Sao_Paulo", date(2018, 11, 4), 23, 1),  # the change at midnight: the day starts at 01:00
        ("America/Sao_Paulo", date(2019, 2, 16), 25, 2),  # 23:00 twice
    ],
)
def test_an_hourly_day_across_a_clock_change(warehouse, zone, day, hours, offsets) -> None:
    rows = answer(warehouse, metrics="amount", grain="hour", start=day.isoformat(), end=day.isoformat(), tz=zone)
    assert as_dict(rows) == oracle(zone, hour_of, day, day)
    assert len(rows) == hours  # the repeated hour twice (two offsets), the skipped one not at all
    assert len({r["period"][-6:] for r in rows}) == offsets


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham"])
@pytest.mark.parametrize("grain", ["hour", "day", "week", "month"])
def test_the_periods_of_a_zone_sum_to_the_same_absolute_range_in_utc(warehouse, zone, grain) -> None:
    """For any zone and grain, the sum over the periods from start to end (wall-time dates there) equals
    the sum over the same instants read in UTC by hand-written SQL."""
    con, _ = warehouse
    for day in AROUND:
        start, end = day - timedelta(days=1), day + timedelta(days=1)
        rows = answer(warehouse, metrics="amount", grain=grain, start=start.isoformat(), end=end.isoformat(), tz=zone)
        lo = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        after = end + timedelta(days=1)
        hi = datetime(after.year, after.month, after.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        (expected,) = con.execute(
            "SELECT sum(amount) FROM app.events WHERE happened_at >= ? AND happened_at < ?",
            [lo.replace(tzinfo=None), hi.replace(tzinfo=None)],
        ).fetchone()
        assert sum(r["amount"] for r in rows) == expected, (zone, grain, day)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Sao_Paulo"])
def test_days_in_a_zone_are_its_wall_time_days(warehouse, zone) -> None:
    for day in AROUND:
        start, end = day - timedelta(days=2), day + timedelta(days=2)
        rows = answer(warehouse, metrics="amount", grain="day", start=start.isoformat(), end=end.isoformat(), tz=zone)
        assert as_dict(rows) == oracle(zone, lambda wall: wall.date().isoformat(), start, end)


def test_hours_in_a_half_hour_zone_start_at_its_half_hours(warehouse) -> None:
    day = date(2026, 10, 25)
    rows = fall_back_day(warehouse, "Asia/Kolkata", metrics="amount", grain="hour")
    assert as_dict(rows) == oracle("Asia/Kolkata", hour_of, day, day)
    assert rows[0]["period"] == "2026-10-25T00:00:00+05:30" and len(rows) == 24


def test_a_dimension_breakdown_in_a_zone_sums_to_its_total(warehouse) -> None:
    query = {"metrics": "amount", "grain": "day", "start": "2026-10-24", "end": "2026-10-26", "tz": "Europe/Berlin"}
    total = as_dict(answer(warehouse, **query))
    by_channel: dict[str, int] = defaultdict(int)
    for r in answer(warehouse, **query, dimensions="channel"):
        by_channel[r["period"]] += int(r["amount"])
    assert dict(by_channel) == total


def test_date_columns_are_never_shifted(warehouse) -> None:
    utc = answer(warehouse, metrics="balance", grain="day", start="2026-10-22", end="2026-10-28")
    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        assert answer(warehouse, metrics="balance", grain="day", start="2026-10-22", end="2026-10-28", tz=zone) == utc
    con, _ = warehouse
    hand = con.execute(
        "SELECT day, sum(balance) FROM app.balances WHERE day BETWEEN '2026-10-22' AND '2026-10-28' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [(date.fromisoformat(r["period"]), r["balance"]) for r in utc] == hand


@pytest.mark.parametrize("week_start", ["sunday", "wednesday"])
def test_weeks_start_on_the_day_asked(warehouse, week_start) -> None:
    shift = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday").index(week_start)
    start, end = date(2026, 10, 18), date(2026, 10, 31)  # a Sunday to a Saturday: two whole Sunday weeks

    def week_of(wall: datetime) -> str:
        return (wall.date() - timedelta(days=(wall.weekday() - shift) % 7)).isoformat()

    rows = answer(
        warehouse, metrics="amount", grain="week", start=start.isoformat(), end=end.isoformat(), week_start=week_start
    )
    assert as_dict(rows) == oracle("UTC", week_of, start, end)
    assert all(date.fromisoformat(r["period"]).weekday() == shift for r in rows)
    berlin = answer(
        warehouse,
        metrics="amount",
        grain="week",
        start=start.isoformat(),
        end=end.isoformat(),
        week_start=week_start,
        tz="Europe/Berlin",
    )
    assert as_dict(berlin) == oracle("Europe/Berlin", week_of, start, end)


def test_the_answer_is_the_same_sql_in_utc_whether_named_or_not(warehouse) -> None:
    con, project = warehouse
    plain = run_metric_query(con, project, MetricQuery(metrics="amount", grain="day"), timeout_s=60)
    named = run_metric_query(con, project, MetricQuery(metrics="amount", grain="day", tz="UTC"), timeout_s=60)
    assert named.sql == plain.sql and named.rows == plain.rows


def test_an_unknown_zone_is_refused_with_the_closest_names() -> None:
    with pytest.raises(InvalidQuery, match="not a known time zone.*Europe/Berlin"):
        MetricQuery(metrics="amount", tz="Europe/Berln")
    with pytest.raises(InvalidQuery, match="not a known time zone"):
        MetricQuery(metrics="amount", tz="'; DROP TABLE x; --")


def test_timestamps_with_a_time_zone_are_read_in_the_zone_too(warehouse) -> None:
    counts = oracle("America/New_York", lambda wall: wall.date().isoformat(), date(2026, 10, 23), date(2026, 10, 27))
    rows = answer(warehouse, metrics="pings", grain="day", start="2026-10-23", end="2026-10-27", tz="America/New_York")
    days: dict[str, int] = defaultdict(int)
    for _, at, *_ in EVENTS:
        wall = local(at, "America/New_York")
        if date(2026, 10, 23) <= wall.date() <= date(2026, 10, 27):
            days[wall.date().isoformat()] += 1
    assert as_dict(rows, "pings") == days and counts.keys() == days.keys()
    hours = fall_back_day(warehouse, metrics="pings", grain="hour")
    assert len(hours) == 25


def test_as_of_joins_compare_instants_not_wall_times(warehouse) -> None:
    """The users' tier changes at 01:10 UTC, in the second of Berlin's two 02:00 hours: an event at 00:50 UTC
    (02:50 the first time round) was silver."""
    rows = fall_back_day(warehouse, metrics="amount", grain="day", dimensions="user.tier")
    expected: dict[str, int] = defaultdict(int)
    for _, at, amount, *_ in EVENTS:
        if local(at, "Europe/Berlin").date() == date(2026, 10, 25):
            expected["gold" if at >= CHANGE else "silver"] += amount
    assert {r["user.tier"]: r["amount"] for r in rows} == expected


def test_fill_at_hour_grain_covers_the_whole_end_day(warehouse) -> None:
    utc = answer(warehouse, metrics="amount", grain="hour", start="2026-10-26", end="2026-10-26", fill="zero")
    berlin = fall_back_day(warehouse, metrics="amount", grain="hour", fill="zero")
    assert (len(utc), len(berlin)) == (24, 25)
    assert as_dict(berlin) == oracle("Europe/Berlin", hour_of, date(2026, 10, 25), date(2026, 10, 25))


def test_prior_year_at_hour_grain_in_a_zone_is_the_same_wall_hour(warehouse) -> None:
    """25 October 2026 after 03:00 is CET; the same day of 2025 was CEST: a year before noon is noon."""
    rows = fall_back_day(warehouse, metrics="amount", grain="hour", compare="prior_year")
    before = oracle(
        "Europe/Berlin",
        lambda wall: wall.replace(minute=0, second=0, tzinfo=None).isoformat(),
        date(2025, 10, 25),
        date(2025, 10, 25),
    )
    for r in rows:
        wall = datetime.fromisoformat(r["period"]).replace(tzinfo=None)
        assert r["amount_prior"] == before[wall.replace(year=2025).isoformat()], r


def test_other_dialects_read_the_zone_through_listed_columns(warehouse) -> None:
    from app.compiler.sql import compile_query

    _, project = warehouse
    compiled = compile_query(
        project, MetricQuery(metrics="amount", grain="day", dimensions="user.tier", tz="Europe/Berlin")
    )
    for dialect in ("postgres", "snowflake", "bigquery", "trino", "spark"):
        text = compiled.sql(dialect)
        assert "* REPLACE" not in text.upper() and "* EXCEPT" not in text.upper(), dialect  # DuckDB's own forms
        assert "__utc_happened_at" in text and "__utc_valid_from" in text


def test_a_range_starting_in_the_repeated_hour_keeps_both_of_its_hours(warehouse) -> None:
    """From 02:30 on the morning Berlin's 02:00 happens twice: both 02:00 hours count, with fill and compare
    as without; the partial first hour is told with its offset, like the rows."""
    query = {"metrics": "amount", "grain": "hour", "start": "2026-10-25T02:30:00", "end": "2026-10-25T04:00:00"}
    con, project = warehouse
    plain = run_metric_query(con, project, MetricQuery(**query, tz="Europe/Berlin"), timeout_s=60)
    assert [r["period"] for r in plain.rows][:2] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    assert plain.partial_periods[0]["period"] == "2026-10-25T02:00:00+02:00"
    expected = [(r["period"], r["amount"]) for r in plain.rows]
    for extra in ({"fill": "zero"}, {"compare": "prior_period"}):
        rows = answer(warehouse, **query, **extra, tz="Europe/Berlin")
        assert [(r["period"], r["amount"]) for r in rows if r["amount"]] == expected, extra  # fill adds 04:00's 0


@pytest.mark.parametrize(
    ("day", "utc_from", "utc_until"),
    [
        ("2018-11-04", "2018-11-04 03:00", "2018-11-05 02:00"),  # midnight skipped: 23 hours, from 01:00 -02:00
        ("2019-02-16", "2019-02-16 02:00", "2019-02-17 03:00"),  # 23:00 twice: 25 hours
    ],
)
def test_sao_paulo_clock_changes_by_hour_and_day_against_hand_sql(warehouse, day, utc_from, utc_until) -> None:
    con, _ = warehouse
    zone = ZoneInfo("America/Sao_Paulo")
    hand = con.execute(
        "SELECT date_trunc('hour', happened_at), sum(amount) FROM app.events "
        "WHERE happened_at >= ? AND happened_at < ? GROUP BY 1",
        [datetime.fromisoformat(utc_from), datetime.fromisoformat(utc_until)],
    ).fetchall()
    hours = answer(warehouse, metrics="amount", grain="hour", start=day, end=day, tz="America/Sao_Paulo")
    assert as_dict(hours) == {h.replace(tzinfo=UTC).astimezone(zone).isoformat(): v for h, v in hand}
    (total,) = con.execute(
        "SELECT sum(amount) FROM app.events "
        "WHERE CAST(timezone('America/Sao_Paulo', happened_at AT TIME ZONE 'UTC') AS DATE) = CAST(? AS DATE)",
        [day],
    ).fetchone()
    days = answer(warehouse, metrics="amount", grain="day", start=day, end=day, tz="America/Sao_Paulo")
    assert days == [{"period": day, "amount": total}] and sum(v for _, v in hand) == total
