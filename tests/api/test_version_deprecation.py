"""A version served through previous_versions is deprecated from the day the newer one was first served."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client
from tests.conftest import ROOT


def version_entry(settings: Settings) -> dict:
    with app_client(create_app(settings)) as client:
        r = client.get("/deprecations/customer_lifetime_value@v1")
        assert r.status_code == 200, r.text
        return r.json()


def test_deprecated_from_the_first_deployment_of_the_newer_version(demo_copy: Path) -> None:
    first = version_entry(Settings(database=demo_copy, project_dir=ROOT, now=datetime(2026, 10, 5, 9)))
    assert first["deprecated_at"] == "2026-10-05"  # v2 was first served on this run, not sunset minus 90 days
    later = version_entry(Settings(database=demo_copy, project_dir=ROOT, now=datetime(2026, 11, 26, 12)))
    assert later["deprecated_at"] == "2026-10-05"  # the registry keeps the first deployment
    assert later["sunset_date"] == first["sunset_date"]
