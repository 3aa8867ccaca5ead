"""Every setting is documented in the README, and read from the environment."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings


def test_every_setting_is_in_the_readme(root: Path) -> None:
    readme = (root / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`TAPFLOW_{name.upper()}`" in readme, name


def test_settings_come_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TAPFLOW_DATABASE", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("TAPFLOW_QUERY_TIMEOUT_S", "2.5")
    s = Settings()
    assert s.database == tmp_path / "x.duckdb"
    assert s.query_timeout_s == 2.5
