"""`tapflow docs --out DIR`: the web catalog as a static site, Markdown pages, and a changelog of breaking changes.

The pages are the service's own (the same templates and contexts as ``/`` and ``/ui/...``), linked as files so
they open from the file system; each chart reads a snapshot of the API's answers taken now and written into its
page (a page opened from the file system may not fetch). The snapshot is asked of the application in process as
the service's own requests: no key, no usage event, so documenting a deprecated metric never counts as using it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.api.internal import ask_all
from app.api.main import create_app
from app.api.routes.ui import default_grain, page_context, sparkline_answers, title_of
from app.api.state import ServiceState
from app.definitions.loader import load_texts, read_definition_files
from app.governance.changes import BREAKING, INDIRECT, Change, classify
from app.governance.gitfiles import files_at
from app.web.render import STATIC, Links, render_body, render_document

SNAPSHOT_GRAINS = ("week", "month", "quarter", "year")  # the grains a static chart offers (finer ones are large)
AGENT = "tapflow-docs"


def write_site(
    state: ServiceState, out: Path, *, base_url: str, since: str | None, until: str | None
) -> dict[str, int]:
    """Write the site under ``out``; how many pages of each kind were written."""
    log = (
        changelog(state.settings.project_dir, state.catalog, since, until) if since else None
    )  # a bad ref: before any page
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True)
    app = create_app(state.settings, state=state)
    app.state.tapflow = state  # the lifespan is not run: nothing is served, the state is already open
    project = state.project
    counts = {"html": 0, "markdown": 0}
    taken = state.settings.clock().isoformat(timespec="minutes")

    def page(path: str, kind: str, name: str | None, snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
        links = Links(static_site=True, up=path.count("/"))
        context = page_context(state, kind, name, links, base_url)
        context["snapshot_at"] = taken
        if kind == "metric":
            context["chart"]["grains"] = snapshot_grains(context["chart"]["grains"])
            context["chart"]["grain"] = default_grain(context["chart"]["grains"])
        body = render_body(kind, context, links)
        document = render_document(kind, title_of(kind, name), links, body=body, snapshot=snapshot)
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document, encoding="utf-8")
        counts["html"] += 1
        return context

    catalog = page_context(state, "catalog", None, Links(static_site=True), base_url)
    sparks = asyncio.run(sparkline_answers(app, catalog["metrics"]))
    page("index.html", "catalog", None, snapshot={name: {"spark": answer} for name, answer in sparks.items()})
    for name in sorted(project.metrics):
        m = project.metrics[name]
        grains = snapshot_grains(list(m.grains))
        asks = [(name, {"grain": g}) for g in grains]
        first = default_grain(grains)
        asks += [(name, {"grain": first, "dimensions": d}) for d in m.dimensions if first]
        context = page(f"metrics/{quote(name, safe='')}.html", "metric", name, snapshot=_snapshot(app, asks))
        _write(out / "markdown" / "metrics" / f"{name}.md", metric_markdown(context), counts)
    for name in sorted(project.entities):
        context = page(f"entities/{quote(name, safe='')}.html", "entity", name)
        _write(out / "markdown" / "entities" / f"{name}.md", entity_markdown(context["e"]), counts)
    page("lineage.html", "lineage", None)
    page("deprecations.html", "deprecations", None)
    if log is not None:
        _write(out / "CHANGELOG.md", log, counts)
    return counts


def snapshot_grains(grains: list[str]) -> list[str]:
    kept = [g for g in SNAPSHOT_GRAINS if g in grains]
    return kept or grains[:1]


def _snapshot(app: Any, asks: list[tuple[str, dict[str, str]]]) -> dict[str, dict[str, Any]]:
    """{metric: {query: answer}} for each (metric, query) the page's charts can show; the SQL is left out."""
    keys = ["&".join(f"{k}={v}" for k, v in sorted(query.items())) for _, query in asks]
    answers = ask_all(
        app, [(f"/metrics/{quote(name, safe='')}", key) for (name, _), key in zip(asks, keys, strict=True)], AGENT
    )
    out: dict[str, dict[str, Any]] = {}
    for (name, _), key, answer in zip(asks, keys, answers, strict=True):
        body = json.loads(answer.body) if answer.headers.get("content-type", "").endswith("json") else {}
        if answer.status == 200:
            meta = {k: body["meta"][k] for k in ("tz", "truncated") if k in body["meta"]}
            out.setdefault(name, {})[key] = {"columns": body["columns"], "rows": body["rows"], "meta": meta}
        else:  # a metric past its sunset (410): the page says so, as the service would
            out.setdefault(name, {})[key] = {
                "problem": body.get("detail", f"HTTP {answer.status}"),
                "status": answer.status,
            }
    return out


def _write(path: Path, text: str, counts: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    counts["markdown"] += 1


# -- Markdown ------------------------------------------------------------------------------------------------
def metric_markdown(c: dict[str, Any]) -> str:
    """A metric's page as Markdown, from the context of its HTML page."""
    m = c["m"]
    name = m["name"]
    lines = [f"# {m['label']} (`{name}`)", "", m["description"] or "_No description._", ""]
    if c["dep"]:
        d = c["dep"]
        lines += [
            "> **Deprecated.**"
            + (f" Sunset on {d['sunset_date']}" if d["sunset_date"] else "")
            + (f"; use `{d['replaced_by']}` instead." if d["replaced_by"] else ".")
            + (f" {d['reason']}" if d["reason"] else ""),
            "",
        ]
    facts = [
        ("Version", f"v{m['version']}"),
        ("Owner", m["owner"] or "–"),
        ("Verified", "yes" if m["verified"] else "no"),
        (
            "Calculation",
            m["calculation_method"]
            + (f" of `{m['definition']['expression']}`" if m["definition"].get("expression") else ""),
        ),
        (
            "Reads",
            f"`{m['table']}` ({m['entity']})"
            if m["table"]
            else "derived from " + ", ".join(f"`{d}`" for d in m["depends_on"]),
        ),
        ("Grains", ", ".join(m["grains"]) or "–"),
        ("Dimensions", ", ".join(f"`{d}`" for d in m["dimensions"]) or "–"),
        ("Tags", ", ".join(m["tags"]) or "–"),
    ]
    lines += ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in facts), ""]
    lines += ["## Versions", ""]
    for v in c["versions"]:
        diff = v["diff_to_previous"]
        lines.append(
            f"- **v{v['version']}**" + (f": {diff['classification']}, {'; '.join(diff['reasons'])}" if diff else "")
        )
    lines += ["", "## Query it", "", "```sh", c["curl"], "```", ""]
    return "\n".join(lines)


def entity_markdown(e: dict[str, Any]) -> str:
    """An entity's page as Markdown, from the entity its HTML page shows."""
    name = e["name"]
    lines = [
        f"# Entity `{name}`",
        "",
        e["description"] or "_No description._",
        "",
        f"Primary key: `{e['primary_key']}`",
        "",
    ]
    lines += ["## Tables", "", "| table | grain | rows | first | last |", "|---|---|---|---|---|"]
    for t in e["tables"]:
        span = f"{t.get('min') or '–'} | {t.get('max') or '–'}"
        grain = t["grain"] or ("state" if t["key"] in ("current", "history") else "event")
        lines.append(f"| `{t['name']}` | {grain} | {t.get('row_count', '–')} | {span} |")
    lines += ["", "## Dimensions", ""] + [
        f"- `{d['name']}`" + (f" = `{d['expression']}`" if d.get("expression") else "") for d in e["dimensions"]
    ]
    lines += ["", "## Relationships", ""] + [
        f"- `{r['name']}`: {r['type']} to `{r['entity']}` on `{r['foreign_key']}`" for r in e["relationships"]
    ]
    lines += ["", "## Metrics", ""] + [f"- `{m}`" for m in e["metrics"]] + [""]
    return "\n".join(lines)


def changelog(root: Path, catalog: dict[str, dict[str, str]] | None, since: str, until: str | None) -> str:
    """The breaking changes to the definitions of the repository at ``root`` between two git refs (``until``
    None: the working tree), the definitions read against ``catalog``."""
    old = load_texts(files_at(root, since), catalog, base=root)
    new_files = files_at(root, until) if until else read_definition_files(root)
    new = load_texts(new_files, catalog, base=root)
    changes = [c for c in classify(old, new) if c.classification in (BREAKING, INDIRECT)]
    head = f"# Breaking changes since {since}" + (f" up to {until}" if until else "")
    lines = [head, "", f"_Written by `tapflow docs --since {since}`._", ""]
    if not changes:
        return "\n".join([*lines, "No breaking changes.", ""])
    for kind, title in (("metric", "Metrics"), ("entity", "Entities")):
        mine = sorted((c for c in changes if c.kind == kind), key=lambda c: c.name)
        if mine:
            lines += [f"## {title}", "", *(_change_line(c) for c in mine), ""]
    return "\n".join(lines)


def _change_line(c: Change) -> str:
    version = ""
    if c.required_version is not None:
        version = (
            f" (v{c.old_version} → v{c.declared_version}"
            + ("" if c.version_ok else f"; needs v{c.required_version}")
            + ")"
        )
    fields = ", ".join(f"`{f.field}`" for f in c.fields)
    through = f" (through {', '.join(c.caused_by)})" if c.caused_by else ""
    return f"- **{c.name}** {c.status}{version}: {'; '.join(c.reasons)}{through}" + (
        f" (fields: {fields})" if fields else ""
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
