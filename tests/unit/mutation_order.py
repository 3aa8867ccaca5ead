"""A pytest plugin for mutation runs only (``make mutation`` loads it through [tool.mutmut] in pyproject.toml).

mutmut runs, for each mutant, the tests that reach the mutated function, and stops at the first failure.
Most mutants are killed by the first test that looks at what they change, so the order matters for speed
(never for the verdict): the modules whose shared fixtures check many behaviours at once come first, the
slow ones last, and within a module the quickest tests (durations from mutmut's own stats) first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIRST = [
    "test_compiler_checks.py",
    "test_definition_problems.py",
    "test_compiler.py",
    "test_deprecation.py",
    "test_doctests.py",
    "test_compiler_numbers.py",
    "test_no_cascade.py",
]
# tests that check many behaviours in one go: first within their module
BROAD = [
    "test_broken_definitions_give_their_problems",
    "test_malformed_definitions_give_their_problems",
    "test_definitions_that_do_not_fit_the_database",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from its mutants/ folder
    durations = json.loads(stats.read_text())["duration_by_test"] if stats.is_file() else {}

    def key(item: pytest.Item) -> tuple[int, str, bool, float]:
        module = item.nodeid.split("::")[0]
        name = module.rsplit("/", 1)[-1]
        rank = FIRST.index(name) if name in FIRST else len(FIRST)
        broad = item.nodeid.split("::")[-1].split("[")[0] in BROAD
        return (rank, module, not broad, durations.get(item.nodeid, 0.0))

    items.sort(key=key)
