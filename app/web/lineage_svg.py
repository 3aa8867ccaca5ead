"""The lineage graph drawn on the server as SVG: sources -> entity tables -> metrics -> derived metrics.

Four layers, left to right: source tables (nothing in the project builds them), the entity tables built from
them, base metrics, and the metrics derived from metrics; in each layer nodes are ordered by the mean position of
what feeds them, so edges cross less. A table built from another entity table stays in its layer (that edge is in
the page's list). Each node links to its page; a
deprecated node is drawn dashed and says so. Built with ElementTree, so every name is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from app.governance.lineage import Lineage, Node

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 230, 26, 90, 10, 16
KINDS = {"table": "table", "metric": "metric"}  # entity nodes are shown through their tables' links


@dataclass(frozen=True)
class Placed:
    node: Node
    layer: int
    row: int

    @property
    def x(self) -> int:
        return PAD + self.layer * (NODE_W + GAP_X)

    @property
    def y(self) -> int:
        return PAD + 22 + self.row * (NODE_H + GAP_Y)


def layout(graph: Lineage) -> tuple[dict[str, Placed], list[tuple[str, str]]]:
    """Each table and metric node placed in its layer and row; the edges between them."""
    nodes = {i: n for i, n in graph.nodes.items() if n.kind in KINDS}
    edges = sorted({(e.source, e.target) for e in graph.edges if e.source in nodes and e.target in nodes})
    feeds: dict[str, list[str]] = {i: [] for i in nodes}
    for source, target in edges:
        feeds[target].append(source)
    built = {target for source, target in edges if nodes[source].kind == nodes[target].kind == "table"}
    derived = {target for source, target in edges if nodes[source].kind == nodes[target].kind == "metric"}
    layer = {
        n: (1 if n in built else 0) if node.kind == "table" else (3 if n in derived else 2) for n, node in nodes.items()
    }
    edges = [(a, b) for a, b in edges if layer[a] < layer[b]]  # within a layer (a table built from another): listed
    placed: dict[str, Placed] = {}
    for level in range(max(layer.values(), default=-1) + 1):
        members = [n for n in nodes if layer[n] == level]

        def centre(node: str) -> tuple[float, str]:
            rows = [placed[f].row for f in feeds[node] if f in placed]
            return (sum(rows) / len(rows) if rows else -1.0, nodes[node].name)

        for row, node in enumerate(sorted(members, key=centre)):
            placed[node] = Placed(nodes[node], level, row)
    return placed, edges


TITLES = ("sources", "entity tables", "metrics", "derived metrics")


def lineage_svg(graph: Lineage, link: Callable[[Node], str | None]) -> str:
    """The SVG document of ``graph``; ``link`` gives a node's page (None: no page)."""
    placed, edges = layout(graph)
    layers = len(TITLES)
    rows = max((p.row for p in placed.values()), default=0) + 1
    width = 2 * PAD + layers * NODE_W + (layers - 1) * GAP_X
    height = 2 * PAD + 22 + rows * (NODE_H + GAP_Y)
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "group",
            "aria-label": f"Lineage: {len(placed)} tables and metrics, {len(edges)} links",
            "class": "lineage",
        },
    )
    for i in range(layers):
        label = TITLES[i]
        ET.SubElement(
            svg, "text", {"x": str(PAD + i * (NODE_W + GAP_X)), "y": str(PAD + 8), "class": "layer"}
        ).text = label
    lines = ET.SubElement(svg, "g", {"class": "edges", "aria-hidden": "true"})
    for source, target in edges:
        a, b = placed[source], placed[target]
        x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
        bend = max(30.0, (x2 - x1) / 2)
        ET.SubElement(
            lines,
            "path",
            {
                "d": f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}",
                "data-from": source,
                "data-to": target,
            },
        )
    boxes = ET.SubElement(svg, "g", {"class": "nodes"})
    for node_id, p in sorted(placed.items(), key=lambda kv: (kv[1].layer, kv[1].row)):
        node = p.node
        href = link(node)
        holder = ET.SubElement(boxes, "a", {"href": href}) if href else boxes
        group = ET.SubElement(
            holder,
            "g",
            {
                "class": f"node {node.kind}" + (" deprecated" if node.deprecated else ""),
                "data-id": node_id,
                "transform": f"translate({p.x},{p.y})",
            },
        )
        state = " (deprecated)" if node.deprecated else ""
        ET.SubElement(group, "title").text = f"{node.kind} {node.name}{state}"
        ET.SubElement(group, "rect", {"width": str(NODE_W), "height": str(NODE_H), "rx": "5"})
        shown = node.name if len(node.name) <= 30 else node.name[:29] + "…"
        ET.SubElement(group, "text", {"x": "8", "y": "17"}).text = ("⚠ " if node.deprecated else "") + shown
    return ET.tostring(svg, encoding="unicode")
