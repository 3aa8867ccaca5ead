"""Read every YAML file under ``metrics/`` and ``entities/`` and build a validated Project.

All problems of all files are collected and raised together as one DefinitionError.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from app.definitions.builds import BuildChecker
from app.definitions.diagnostics import Problem, Problems
from app.definitions.entities import BoundEntities, Catalog
from app.definitions.located import Located
from app.definitions.metrics import MetricResolver
from app.definitions.parsing import ParsedFiles
from app.definitions.project import Project, Source
from app.definitions.rollups import RollupChecker
from app.definitions.spec import Entity, Metric
from app.errors import DefinitionError

DEFINITION_DIRS = ("entities", "metrics")


def read_definition_files(project_dir: Path) -> dict[str, str]:
    """Relative path -> text of every ``*.yml``/``*.yaml`` under entities/ and metrics/."""
    files: dict[str, str] = {}
    for folder in DEFINITION_DIRS:
        root = project_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix in (".yml", ".yaml") and path.is_file():
                files[path.relative_to(project_dir).as_posix()] = path.read_text(encoding="utf-8")
    return files


def load_project(project_dir: Path, catalog: Catalog | None = None) -> Project:
    """Load and validate the definitions of a project folder.

    ``catalog`` (table -> columns, from the database) makes column checks exact; without it
    columns are checked against what the entities declare.
    """
    return load_texts(read_definition_files(project_dir), catalog, base=project_dir)


def load_texts(files: dict[str, str], catalog: Catalog | None = None, *, base: Path | None = None) -> Project:
    """Validate definitions given as {relative path: YAML text}; raise DefinitionError with all problems."""
    parsed = ParsedFiles(files)
    problems = Problems(list(parsed.problems), tuple(parsed.unknowable))
    model = BoundEntities(parsed.entities, catalog, problems, parsed.dropped)
    builds = BuildChecker(model.located, model.tables, catalog, problems)
    metrics = MetricResolver(model, parsed.metrics, problems)
    rollups = RollupChecker(model.located, metrics.located, metrics.current, problems)
    sources = {f"entity:{n}": Source(i.file, i.line()) for n, i in model.located.items()}
    sources |= {f"metric:{n}": Source(i.file, i.line()) for n, i in metrics.located.items()}
    digest = _digest(parsed.entities, parsed.metrics)
    project = Project(model.entities, metrics.current, metrics.previous, sources, files, digest, dict(model.tables))
    project.builds = builds.graph
    project.rollups = rollups.rollups
    project.warnings = [str(w) for w in sorted(set(problems.warnings))]
    found = problems.items
    if base is not None:
        found += _check_guides(project, base, parsed.metrics)
    if found:
        found = sorted(set(found))
        raise DefinitionError(
            f"{len(found)} problem(s) in the definitions:\n" + "\n".join(map(str, found)),
            errors=[p.as_dict() for p in found],
        )
    return project


def _digest(entities: list[Located[Entity]], metrics: list[Located[Metric]]) -> str:
    body = {
        "entities": sorted((i.spec.model_dump(mode="json") for i in entities), key=lambda d: d["name"]),
        "metrics": sorted((i.spec.model_dump(mode="json") for i in metrics), key=lambda d: d["name"]),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _check_guides(project: Project, base: Path, metrics: list[Located[Metric]]) -> list[Problem]:
    """A migration_guide that names a .md file must point to an existing file in the project."""
    out = []
    for name, entity in project.entities.items():
        source = project.sources[f"entity:{name}"]
        blocks = [("deprecation", entity.deprecation)]
        blocks += [(f"tables.{key}.deprecation", t.deprecation) for key, t in entity.tables.items()]
        for key, dep in blocks:
            out += _guide_problem(base, dep, source.file, source.line, f"entities.{name}.{key}.migration_guide")
    for item in metrics:
        dep = item.spec.deprecation
        out += _guide_problem(
            base,
            dep,
            item.file,
            item.line("deprecation", "migration_guide"),
            f"metrics.{item.spec.name}.deprecation.migration_guide",
        )
    return out


def _guide_problem(base: Path, dep: Any, file: str, line: int, key: str) -> list[Problem]:
    path = dep.guide_path(base) if dep else None
    if path is None or (path.is_file() and base.resolve() in path.parents):
        return []
    guide = dep.migration_guide.strip()
    message = f"migration guide file '{guide}' does not exist in the project folder (paths are relative to it)"
    return [Problem(file, line, key, message)]
