"""Definition files at a git ref, and a unified diff between two sets of files."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

from app.definitions.loader import DEFINITION_DIRS
from app.errors import GitError


def _git(project_dir: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"Could not run git: {exc}") from exc
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def files_at(project_dir: Path, ref: str) -> dict[str, str]:
    """{path: text} of the definition files under metrics/ and entities/ at ``ref``."""
    _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    listing = _git(project_dir, "ls-tree", "-r", "--name-only", ref, "--", *DEFINITION_DIRS)
    out: dict[str, str] = {}
    for path in sorted(listing.splitlines()):
        if path.endswith((".yml", ".yaml")):
            out[path] = _git(project_dir, "show", f"{ref}:./{path}")
    return out


def unified_diff(old: dict[str, str], new: dict[str, str]) -> str:
    """What ``git diff`` would print for these two sets of files (paths with a/ and b/)."""
    chunks: list[str] = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        chunks.extend(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"a/{path}" if before is not None else "/dev/null",
                tofile=f"b/{path}" if after is not None else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks)
