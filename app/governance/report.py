"""The impact report as Markdown, for a pull-request comment."""

from __future__ import annotations

import json
import re
from typing import Any

from app.governance.impact import ImpactReport

ICONS = {
    "breaking": "breaking",
    "breaking_indirect": "breaking (indirect)",
    "non_breaking": "non-breaking",
    "metadata": "metadata",
}


MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#!|~])")


def md(value: Any) -> str:
    """User-supplied text (a consumer's name, a file name, a problem quoting a definition) as literal
    Markdown: on one line, every character Markdown or HTML would read escaped.

    >>> md("**x** | <img src=y> [a](http://z)")
    '\\\\*\\\\*x\\\\*\\\\* \\\\| \\\\<img src=y\\\\> \\\\[a\\\\]\\\\(http://z\\\\)'
    """
    return MARKDOWN.sub(r"\\\1", " ".join(str(value).split()))


def _code(value: Any) -> str:
    """Text in a code span (which Markdown does not read), backticks and pipes kept out of it."""
    return "`" + " ".join(str(value).split()).replace("`", "'").replace("|", "\\|") + "`"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _code(text if len(text) <= 80 else text[:77] + "...")


def _num(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}%" if pct else f"{value:,.2f}"


def render_markdown(report: ImpactReport) -> str:
    data = report.as_dict()
    counts = ", ".join(f"{n} {ICONS.get(k, k)}" for k, n in sorted(data["summary"].items()))
    mark = "PASS" if report.verdict == "pass" else "FAIL"
    lines = [f"## TapFlow metric impact: **{mark}**", ""]
    lines.append(f"{len(report.items)} change(s){': ' + counts if counts else ''}.")
    if report.reasons:
        lines += ["", "**Why it fails:**", ""] + [f"- {md(r)}" for r in report.reasons]
    if report.problems:
        lines += ["", "**The proposed definitions do not validate:**", ""]
        lines += [
            f"- {_code(str(p['file']) + ':' + str(p['line']))} {md(p['key'])}: {md(p['message'])}"
            for p in report.problems
        ]
    for item in report.items:
        c = item.change
        kind = ICONS.get(c.classification, c.classification) if c.classification else None
        title = f"### {c.kind} `{c.name}`: {c.status}, {kind}"
        lines += ["", title, ""]
        if c.reasons:
            lines.append("Reasons: " + "; ".join(md(r) for r in c.reasons) + ".")
        if c.kind == "metric" and c.required_version is not None:
            ok = "ok" if c.version_ok else "**missing version bump**"
            lines.append(f"Version: declared {c.declared_version}, required {c.required_version} ({ok}).")
        if c.fields:
            lines += ["", "| field | before | after | class |", "|---|---|---|---|"]
            lines += [
                f"| {f.field} | {_cell(f.old)} | {_cell(f.new)} | {ICONS.get(f.classification)} |" for f in c.fields
            ]
        if item.dependents:
            lines += ["", "Downstream: " + ", ".join(f"`{d}`" for d in item.dependents) + "."]
        if item.consumers:
            who = ", ".join(
                f"{md(x['consumer'])} ({x['requests']} requests, v{'/'.join(map(str, x['versions'])) or '?'})"
                for x in item.consumers
            )
            lines += ["", f"Consumers in the last 30 days: {who}."]
        diff = item.value_diff
        if diff and diff.get("rows"):
            lines += [
                "",
                f"Value diff at grain `{diff['grain']}`, last {diff['periods']} periods "
                f"({diff['periods_changed']} changed):",
                "",
                "| period | before | after | delta | delta % |",
                "|---|---:|---:|---:|---:|",
            ]
            lines += [
                f"| {r['period']} | {_num(r['before'])} | {_num(r['after'])} | {_num(r['delta'])} | "
                f"{_num(r['relative_delta'], pct=True)} |"
                for r in diff["rows"]
            ]
        elif diff:
            lines += ["", f"Value diff: {md(diff.get('note', 'no rows'))}."]
    graph = _mermaid(report)
    if graph:
        lines += ["", "### What is affected", "", "```mermaid", graph, "```"]
    if report.notes:
        lines += [""] + [f"_{md(n)}_" for n in report.notes]
    if report.ignored_files:
        lines += ["", "Ignored (not definitions): " + ", ".join(_code(f) for f in report.ignored_files)]
    return "\n".join(lines) + "\n"


def _mermaid(report: ImpactReport) -> str:
    edges, nodes = [], {}
    for item in report.items:
        c = item.change
        src = f"{c.kind}_{c.name}"
        nodes[src] = (c.name, c.classification)
        for dep in item.dependents:
            nodes.setdefault(f"metric_{dep}", (dep, None))
            edges.append(f"    {src} --> metric_{dep}")
    if not nodes:
        return ""
    out = ["flowchart LR"]
    for node_id, (label, kind) in nodes.items():
        out.append(f'    {node_id}["{label}"]' + (f":::{kind}" if kind else ""))
    out += sorted(set(edges))
    out += [
        "    classDef breaking fill:#fde2e1,stroke:#c0392b",
        "    classDef breaking_indirect fill:#fdebd0,stroke:#ca6f1e",
        "    classDef non_breaking fill:#d5f5e3,stroke:#1e8449",
        "    classDef metadata fill:#eaecee,stroke:#566573",
    ]
    return "\n".join(out)
