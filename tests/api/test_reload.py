"""Hot reload: valid definitions swap in atomically; invalid ones are refused and the last valid
set keeps serving; no request fails while reloads happen."""

from __future__ import annotations

import shutil
import signal
import threading
import time
from pathlib import Path

import httpx

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client
from tests.helpers import env_for, running_server
from tests.unit.test_changes import edit_metric


def relabel(project: Path, label: str) -> None:
    path = project / "metrics" / "revenue.yml"
    files = {"r": path.read_text()}
    current = next(line.split("label: ", 1)[1] for line in files["r"].splitlines() if line.startswith("    label: "))
    edit_metric(files, "r", "mrr", f"label: {current}", f"label: {label}")
    path.write_text(files["r"])


def test_reload_valid_invalid_and_concurrent(project_copy: Path, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "reload.duckdb"
    shutil.copy(demo_db, db)
    with app_client(create_app(Settings(database=db, project_dir=project_copy))) as client:
        before = client.get("/health").json()["definitions_hash"]
        relabel(project_copy, "MRR (reloaded)")
        ok = client.post("/admin/reload")
        assert ok.status_code == 200 and ok.json()["definitions_hash"] != before
        assert client.get("/metrics/mrr", params={"grain": "year"}).json()["label"] == "MRR (reloaded)"

        good = client.get("/health").json()["definitions_hash"]
        broken = project_copy / "metrics" / "broken.yml"
        broken.write_text("version: 2\nmetrics:\n  - name: broken\n    calculation_method: total\n")
        refused = client.post("/admin/reload")
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["file"] == "metrics/broken.yml" and refused.json()["errors"][0]["line"] == 4
        assert client.get("/health").json()["definitions_hash"] == good
        assert client.get("/metrics/mrr", params={"grain": "year"}).status_code == 200
        broken.unlink()

        failures: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                r = client.get("/metrics/mrr", params={"grain": "month", "start": "2026-01-01"})
                if r.status_code != 200:
                    failures.append(r.status_code)

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        for i in range(8):
            relabel(project_copy, f"MRR {i}")
            assert client.post("/admin/reload").status_code == 200
        stop.set()
        for t in threads:
            t.join()
        assert failures == []
        assert client.get("/metrics/mrr", params={"grain": "year"}).json()["label"] == "MRR 7"


def test_sighup_reloads_a_real_server(project_copy: Path, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "hup.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db, project_copy)) as base:
        pid = int(httpx.get(base + "/health").json()["pid"])
        relabel(project_copy, "MRR after SIGHUP")
        import os

        os.kill(pid, signal.SIGHUP)
        for _ in range(100):
            if httpx.get(base + "/metrics/mrr", params={"grain": "year"}).json()["label"] == "MRR after SIGHUP":
                break
            time.sleep(0.1)
        else:
            raise AssertionError("SIGHUP did not reload the definitions")
