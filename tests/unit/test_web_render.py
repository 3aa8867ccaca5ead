"""The web catalog's rendering without a browser: every text escaped, links to real paths, SVG well formed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.governance.lineage import Lineage
from app.web.lineage_svg import lineage_svg
from app.web.render import Links, markdown, number, render_body, render_document

HOSTILE = '</script><img src=x onerror="alert(1)">'


def metric(**fields: object) -> dict[str, object]:
    base = {
        "name": "m",
        "label": HOSTILE,
        "description": HOSTILE,
        "owner": HOSTILE,
        "tags": [HOSTILE],
        "verified": True,
        "deprecation": None,
        "entity": "customers",
        "grains": ["month"],
        "spark": "month",
    }
    return base | fields


def test_definition_text_is_escaped_everywhere_it_is_shown() -> None:
    html = render_body("catalog", {"metrics": [metric()], "entities": ["customers"]}, Links())
    assert "<img" not in html and "</script>" not in html
    assert "&lt;img src=x onerror=" in html  # shown as text
    page = render_document("catalog", HOSTILE, Links(), body=html, snapshot={"m": {"label": HOSTILE}})
    assert page.count("</script>") == page.count("<script")  # the snapshot's JSON cannot close its script element
    assert "<img" not in page


def test_markdown_is_rendered_with_raw_html_escaped() -> None:
    out = str(markdown(f"**bold** {HOSTILE} [x](javascript:alert(1))"))
    assert "<strong>bold</strong>" in out
    assert "<img" not in out and 'href="javascript:' not in out


def test_links_point_at_the_served_paths_and_at_the_static_files() -> None:
    served, static = Links(), Links(static_site=True, up=1)
    assert served.page("entity", "customers") == "/ui/entities/customers"
    assert served.page("metric", "a b") == "/ui/metrics/a%20b"
    assert static.page("entity", "customers") == "../entities/customers.html"
    assert static.page("catalog") == "../index.html"
    assert static.static("tapflow.js") == "../static/tapflow.js"


def test_the_lineage_svg_is_well_formed_and_escapes_names() -> None:
    g = Lineage()
    source = g.add("table", "staging.<raw>")
    built = g.add("table", "entity.t")
    base = g.add("metric", "m", deprecated=True)
    derived = g.add("metric", "d")
    g.link(source, built, "builds")
    g.link(built, base, "reads")
    g.link(base, derived, "derives")
    svg = ET.fromstring(lineage_svg(g, lambda n: f"/x/{n.name}"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    nodes = {n.get("data-id"): n for n in svg.iterfind(".//s:g[@data-id]", ns)}
    assert set(nodes) == {source, built, base, derived}
    x = {i: float(n.get("transform").split("(")[1].split(",")[0]) for i, n in nodes.items()}
    assert x[source] < x[built] < x[base] < x[derived]  # sources, entity tables, metrics, derived metrics
    assert "deprecated" in nodes[base].get("class")
    edges = {(p.get("data-from"), p.get("data-to")) for p in svg.iterfind(".//s:path", ns)}
    assert edges == {(source, built), (built, base), (base, derived)}


def test_numbers_as_the_tooltips_write_them() -> None:
    assert [number(v) for v in (1749, 1749.5, 2250000.0, 0.004, -3.25, None)] == [
        "1,749",
        "1,749.5",
        "2,250,000",
        "0",
        "-3.25",
        "–",
    ]
