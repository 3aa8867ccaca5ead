"""`tapflow docs --since REF`: the changelog of breaking changes between two refs of a real git repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from app.cli.docs import changelog


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=ci@tapflow.dev", "-c", "user.name=CI", *args],
        check=True,
        capture_output=True,
    )


def test_the_changelog_lists_breaking_changes_between_two_refs_and_nothing_else(
    project_copy: Path, catalog: dict[str, dict[str, str]]
) -> None:
    git(project_copy, "init", "-q")
    git(project_copy, "add", "-A")
    git(project_copy, "commit", "-qm", "base")
    git(project_copy, "tag", "base")
    revenue = project_copy / "metrics" / "revenue.yml"
    text = revenue.read_text()
    assert "expression: monthly_recurring_revenue\n" in text
    revenue.write_text(
        text.replace("expression: monthly_recurring_revenue\n", "expression: monthly_recurring_revenue * 0.9\n", 1)
    )
    git(project_copy, "commit", "-qam", "mrr at 90%")
    git(project_copy, "tag", "cut")
    other = project_copy / "metrics" / "legacy.yml"  # metadata only: a description reworded
    other.write_text(other.read_text().replace("description: ", "description: (reworded) ", 1))
    unchanged = re.findall(r"^  - name: (\w+)", other.read_text(), flags=re.M)
    assert unchanged

    log = changelog(project_copy, catalog, "base", None)
    assert log.startswith("# Breaking changes since base\n")
    assert "- **mrr** changed (v1 → v1; needs v2): expression changed" in log  # in place, without a bump
    assert re.search(r"^- \*\*arpa\*\* changed.*\(through mrr\)", log, flags=re.M)  # derived from mrr
    listed = re.findall(r"^- \*\*(\w+)\*\*", log, flags=re.M)
    assert not set(listed) & set(unchanged)
    assert "No breaking changes." in changelog(project_copy, catalog, "cut", None)
    between = changelog(project_copy, catalog, "base", "cut")
    assert "- **mrr** changed" in between and "(reworded)" not in between
