"""Rendering the catalog's pages: one Jinja2 environment (autoescaped), a page's body and its whole document.

A page is a body (the fragment a template renders from its context) inside the shell (base.html). Served,
the body is in the shell when no key is needed, and fetched by the page with the key when one is; written
by ``tapflow docs``, it is always in the shell, with the data of its charts beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

HERE = Path(__file__).parent
STATIC = HERE / "static"
PAGES = ("catalog", "metric", "entity", "lineage", "deprecations", "impact")
FOLDERS = {"metric": "metrics", "entity": "entities"}  # a page of one metric or entity: where it lives


@dataclass(frozen=True)
class Links:
    """Where a page's links point: the service's paths, or the files of a static site (relative to the page,
    ``up`` levels below the site's root)."""

    static_site: bool = False
    up: int = 0

    @property
    def root(self) -> str:
        return "../" * self.up if self.static_site else "/"

    def static(self, name: str) -> str:
        return f"{self.root}static/{name}" if self.static_site else f"/ui/static/{name}"

    def page(self, kind: str, name: str | None = None) -> str:
        if kind == "catalog":
            return f"{self.root}index.html" if self.static_site else "/"
        if name is None:
            return f"{self.root}{kind}.html" if self.static_site else f"/ui/{kind}"
        folder, safe = FOLDERS[kind], quote(name, safe="")
        return f"{self.root}{folder}/{safe}.html" if self.static_site else f"/ui/{folder}/{safe}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["when"] = when
    env.filters["markdown"] = markdown
    return env


def render_body(page: str, context: dict[str, Any], links: Links) -> str:
    """The body of ``page`` (one of PAGES) from its context."""
    return environment().get_template(f"{page}.html").render(context, links=links)


def render_document(
    page: str,
    title: str,
    links: Links,
    *,
    body: str | None,
    fragment_url: str | None = None,
    snapshot: dict[str, Any] | None = None,
) -> str:
    """The whole page: the shell with ``body`` in it, or with the URL the page fetches its body from (keys on)."""
    return (
        environment()
        .get_template("base.html")
        .render(page=page, title=title, links=links, body=body, fragment_url=fragment_url, snapshot=snapshot)
    )


def number(value: Any) -> str:
    """A number as the chart's tooltips write it: thousands separated, at most two decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def when(value: Any) -> str:
    """An ISO instant or date, shortened to the minute."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:16].replace("T", " ") if len(text) > 10 else text


def markdown(text: str | None) -> Markup:
    """Markdown as HTML (the impact report, migration guides): raw HTML in the text is escaped, never passed."""
    return Markup(_markdown().render(text or ""))  # the renderer escapes: html is off


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")
