"""Apply a unified diff (what ``git diff`` prints) to a set of files held in memory."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.errors import InvalidDiff

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _keep_all(path: str) -> bool:
    return True


def apply_unified_diff(
    files: dict[str, str], diff: str, keep: Callable[[str], bool] = _keep_all, *, max_chars: int
) -> tuple[dict[str, str], list[str], list[str]]:
    """Return the patched files, the paths the diff deletes, and the paths it skipped (``keep`` false).

    Context lines must match exactly. A diff longer than ``max_chars`` is refused (the caller's
    limit: the API passes ``Settings.max_body_bytes``)."""
    if len(diff) > max_chars:
        raise InvalidDiff(f"The diff is longer than {max_chars} characters.")
    out = dict(files)
    deleted: list[str] = []
    skipped: list[str] = []
    lines = diff.splitlines(keepends=True)
    i = 0
    found_any = False
    while i < len(lines):
        if not lines[i].startswith("--- "):
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
            raise InvalidDiff(f"Malformed diff at line {i + 1}: '---' is not followed by '+++'.")
        old_path, new_path = _path(lines[i][4:]), _path(lines[i + 1][4:])
        i += 2
        found_any = True
        if not keep(new_path or old_path or ""):
            skipped.append(new_path or old_path or "")
            while i < len(lines) and not lines[i].startswith(("--- ", "diff ")):
                i += 1
            continue
        source = [] if old_path is None else _split(out.get(old_path, None), old_path)
        result: list[str] = []
        cursor = 0
        while i < len(lines) and lines[i].startswith("@@"):
            m = HUNK.match(lines[i])
            if not m:
                raise InvalidDiff(f"Malformed hunk header at line {i + 1}: {lines[i].strip()!r}")
            start = int(m.group(1)) - (0 if m.group(2) == "0" else 1)
            result.extend(source[cursor:start])
            cursor = start
            i += 1
            while i < len(lines) and not lines[i].startswith(("@@", "--- ", "diff ")):
                line = lines[i]
                tag, body = line[:1], line[1:]
                if tag == "\\":  # "\ No newline at end of file"
                    if result and result[-1].endswith("\n"):
                        result[-1] = result[-1][:-1]
                elif tag == " " or tag == "-":
                    if cursor >= len(source) or source[cursor].rstrip("\n") != body.rstrip("\n"):
                        raise InvalidDiff(
                            f"The diff does not apply to {old_path}: line {cursor + 1} differs from the "
                            "definitions the service runs. Rebase the branch, or post the files as JSON."
                        )
                    if tag == " ":
                        result.append(source[cursor])
                    cursor += 1
                elif tag == "+":
                    result.append(body if body.endswith("\n") else body + "\n")
                elif line.strip() == "":
                    result.append(source[cursor] if cursor < len(source) else "\n")
                    cursor += 1
                else:
                    raise InvalidDiff(f"Malformed diff line {i + 1}: {line.rstrip()!r}")
                i += 1
        result.extend(source[cursor:])
        if new_path is None:
            if old_path is not None:
                deleted.append(old_path)
                out.pop(old_path, None)
        else:
            if old_path and old_path != new_path:
                out.pop(old_path, None)
            out[new_path] = "".join(result)
    if not found_any:
        raise InvalidDiff("The body is not a unified diff: no '--- a/...' / '+++ b/...' file headers found.")
    return out, deleted, skipped


def _path(header: str) -> str | None:
    name = header.strip().split("\t")[0]
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name


def _split(text: str | None, path: str) -> list[str]:
    if text is None:
        raise InvalidDiff(f"The diff changes {path}, which the service does not have.")
    return text.splitlines(keepends=True)
