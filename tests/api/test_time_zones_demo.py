"""Time zones over the demo's app activity (staging.stg_app__user_activities, stored in UTC), against hand SQL:
Berlin's two clock changes of 2026 at hour grain, and days in Berlin and São Paulo (whose last change was in
2019: tests/unit/test_time_zones.py has those)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

ACTIVITY = "staging.stg_app__user_activities"


@pytest.mark.parametrize(
    ("day", "utc_from", "utc_until", "hours"),
    [
        ("2026-03-29", "2026-03-28 23:00", "2026-03-29 22:00", 23),  # 02:00 skipped
        ("2026-10-25", "2026-10-24 22:00", "2026-10-25 23:00", 25),  # 02:00 twice
    ],
)
def test_actions_by_hour_on_a_berlin_clock_change(client, oracle, day, utc_from, utc_until, hours) -> None:
    body = client.get(f"/metrics/actions?grain=hour&start={day}&end={day}&tz=Europe/Berlin").json()
    hand = oracle.execute(
        f"SELECT date_trunc('hour', activity_timestamp), sum(actions_taken) FROM {ACTIVITY} "
        "WHERE activity_timestamp >= ? AND activity_timestamp < ? GROUP BY 1",
        [datetime.fromisoformat(utc_from), datetime.fromisoformat(utc_until)],
    ).fetchall()
    berlin = ZoneInfo("Europe/Berlin")
    expected = {h.replace(tzinfo=UTC).astimezone(berlin).isoformat(): float(v) for h, v in hand}
    assert {r["period"]: r["actions"] for r in body["rows"]} == expected and expected
    assert body["meta"]["tz"] == "Europe/Berlin"
    filled = client.get(f"/metrics/actions?grain=hour&start={day}&end={day}&tz=Europe/Berlin&fill=zero").json()
    assert len(filled["rows"]) == hours  # every hour of the day, the quiet ones as 0
    assert {r["period"]: r["actions"] for r in filled["rows"] if r["actions"]} == expected


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Sao_Paulo", "Asia/Tokyo"])
def test_sessions_by_day_are_the_zones_days(client, oracle, zone) -> None:
    body = client.get(f"/metrics/sessions?grain=day&start=2026-10-23&end=2026-10-27&tz={zone}").json()
    hand = oracle.execute(
        f"""SELECT CAST(timezone('{zone}', activity_timestamp AT TIME ZONE 'UTC') AS DATE) AS day,
                   count(DISTINCT session_id)
            FROM {ACTIVITY} GROUP BY 1 HAVING day BETWEEN DATE '2026-10-23' AND DATE '2026-10-27'"""
    ).fetchall()
    assert {r["period"]: r["sessions"] for r in body["rows"]} == {d.isoformat(): float(n) for d, n in hand}
    if zone == "Asia/Tokyo":  # the demo's working hours (UTC) cross Tokyo's midnight: the days differ
        utc = client.get("/metrics/sessions?grain=day&start=2026-10-23&end=2026-10-27").json()["rows"]
        assert body["rows"] != utc
