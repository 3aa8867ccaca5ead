"""The lineage graph: tables -> entities -> metrics -> derived metrics, upstream and downstream.

Edges:
    table  -part_of->  entity     a table is one grain of an entity
    table  -reads->    metric     the metric aggregates rows of the table
    table  -joins->    metric     a dimension of the metric is read from the table through a join
    entity -models->   metric     the metric is defined on one of the entity's tables
    metric -derives->  metric     a derived metric reads another metric
    table  -builds->   table      the table's build reads the other (a source, or an entity table)
Downstream of a table follows reads/joins (not part_of: a table does not feed its entity's
other metrics); downstream of an entity follows models.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.compiler.joins import JoinPlan
from app.definitions.diagnostics import did_you_mean
from app.definitions.project import MetricVersion, Project
from app.errors import NotFound


@dataclass(frozen=True)
class Node:
    id: str  # "table:legacy.customer_facts", "entity:customers", "metric:mrr"
    kind: str
    name: str
    deprecated: bool = False


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str


@dataclass
class Lineage:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, kind: str, name: str, deprecated: bool = False) -> str:
        node_id = f"{kind}:{name}"
        if node_id not in self.nodes or deprecated:
            self.nodes[node_id] = Node(node_id, kind, name, deprecated)
        return node_id

    def link(self, source: str, target: str, kind: str) -> None:
        edge = Edge(source, target, kind)
        if edge not in self.edges:
            self.edges.append(edge)

    def resolve(self, name: str) -> str:
        """A node id from ``mrr``, ``metric:mrr``, ``customer_facts`` or ``legacy.customer_facts``."""
        if name in self.nodes:
            return name
        for prefix in ("metric", "entity", "table"):
            if f"{prefix}:{name}" in self.nodes:
                return f"{prefix}:{name}"
        for node in self.nodes.values():
            if node.kind == "table" and node.name.rsplit(".", 1)[-1] == name:
                return node.id
        names = {n.name for n in self.nodes.values()}
        raise NotFound(f"No lineage node named '{name}'. {did_you_mean(name, names)}")

    def downstream(self, node_id: str) -> list[str]:
        follow = {"reads", "joins", "models", "derives", "builds"}
        return self._walk(node_id, lambda e: e.source, lambda e: e.target, follow)

    def upstream(self, node_id: str) -> list[str]:
        """What feeds a node; an entity's own tables count only when the entity itself is asked about."""
        follow = {"reads", "joins", "models", "derives", "builds"}
        found = self._walk(node_id, lambda e: e.target, lambda e: e.source, follow)
        if self.nodes[node_id].kind == "entity":
            found += [e.source for e in self.edges if e.kind == "part_of" and e.target == node_id]
        return found

    def _walk(
        self, start: str, here: Callable[[Edge], str], there: Callable[[Edge], str], follow: set[str]
    ) -> list[str]:
        seen: list[str] = []
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for edge in self.edges:
                if edge.kind in follow and here(edge) == current and there(edge) not in seen and there(edge) != start:
                    seen.append(there(edge))
                    queue.append(there(edge))
        return seen

    def subgraph(self, ids: set[str]) -> Lineage:
        sub = Lineage({i: n for i, n in self.nodes.items() if i in ids})
        sub.edges = [e for e in self.edges if e.source in ids and e.target in ids]
        return sub

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": [vars(n) for n in self.nodes.values()],
            "edges": [vars(e) for e in self.edges],
        }

    def mermaid(self) -> str:
        """A mermaid flowchart; deprecated nodes are styled."""
        lines = ["flowchart LR"]
        shapes = {"table": ('[("', '")]'), "entity": ('(["', '"])'), "metric": ('["', '"]')}
        for node in self.nodes.values():
            left, right = shapes[node.kind]
            label = node.name.replace('"', "'") + (" (deprecated)" if node.deprecated else "")
            lines.append(f"    {_mermaid_id(node.id)}{left}{label}{right}")
        arrows = {
            "part_of": "-.->",
            "joins": "-.->",
            "reads": "-->",
            "models": "-->",
            "derives": "==>",
            "builds": "==>",
        }
        for edge in self.edges:
            lines.append(f"    {_mermaid_id(edge.source)} {arrows[edge.kind]}|{edge.kind}| {_mermaid_id(edge.target)}")
        lines.append("    classDef deprecated fill:#fde2e1,stroke:#c0392b,color:#7b241c")
        deprecated = [_mermaid_id(n.id) for n in self.nodes.values() if n.deprecated]
        if deprecated:
            lines.append(f"    class {','.join(deprecated)} deprecated")
        return "\n".join(lines) + "\n"


def _mermaid_id(node_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def build_lineage(project: Project, deprecated: set[str] | None = None) -> Lineage:
    """The project's lineage; ``deprecated`` names objects to mark (from governance.deprecation)."""
    marked = deprecated or set()
    g = Lineage()
    for (entity_name, _), bound in project.tables.items():
        t = g.add("table", bound.name, bound.name in marked)
        e = g.add("entity", entity_name, entity_name in marked)
        g.link(t, e, "part_of")
    declared = {t.name.lower(): t.name for t in project.tables.values()}
    for target, sources in (project.builds.reads if project.builds else {}).items():
        for source in sorted(sources):
            g.link(g.add("table", declared.get(source, source)), g.add("table", declared[target]), "builds")
    versions = [*project.metrics.values()]
    versions += [v for older in project.previous.values() for v in older.values()]
    for m in versions:
        name = m.name if m is project.metrics[m.name] else f"{m.name}@v{m.version}"
        mid = g.add("metric", name, name in marked)
        if m.table is not None:
            g.link(g.add("table", m.table.name), mid, "reads")
            g.link(g.add("entity", m.table.entity), mid, "models")
            for table in _joined_tables(project, m):
                if table != m.table.name:
                    g.link(g.add("table", table), mid, "joins")
        for parent in m.depends_on:
            g.link(g.add("metric", parent), mid, "derives")
    return g


def _joined_tables(project: Project, m: MetricVersion) -> list[str]:
    """Tables a metric's dimensions are read from through joins, as the compiler joins them (entity
    current tables, or their history tables where a dimension is read as of each row's time)."""
    assert m.table is not None
    plan = JoinPlan(project, m.table, m.spec.timestamp)
    for dim in m.dimensions:
        plan.column(dim)
    return [t.name for t in plan.joined.values()]
