"""The web catalog in a real headless Chromium (Debian's chromium, driven by Playwright) against real servers.

Each number a chart shows is checked against the API's own answer for the same query; the pages' screenshots
are written under tests/artifacts/ (not committed). Every page load fails the test on a console error.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import ROOT, env_for, keyed_copy, running_server, tapflow

ARTIFACTS = ROOT / "tests" / "artifacts"
KEY, KEY_NAME = "ui-secret-7", "dash"
PAGE_BUDGET = 300 * 1024  # bytes a page loads before its data (the "no page over 300 KB")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make install` installs Debian's chromium (apt-get install chromium)"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("web") / "tapflow.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db)) as base:
        yield base


@pytest.fixture(scope="module")
def keyed(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db, keys = keyed_copy(demo_db, tmp_path_factory.mktemp("web-keys"), {KEY_NAME: (KEY, ["read"])})
    with running_server(env_for(db, TAPFLOW_API_KEYS_FILE=str(keys))) as base:
        yield base


AXE = Axe()


def accessible(page: Page) -> None:
    """No serious or critical finding of axe-core's accessibility rules (WCAG 2.1 A/AA and best practice)."""
    found = AXE.run(page).response["violations"]
    bad = [(v["id"], v["nodes"][0]["html"][:120]) for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


class Watched:
    """A page whose console errors, failed page errors and requests are kept."""

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def shot(self, name: str, *, rules: bool = True) -> None:
        """A screenshot under tests/artifacts/, once the page passes the accessibility rules (axe reads stylesheets
        with requests a page from the file system may not make: the static site's pages are the same templates)."""
        if rules:
            accessible(self.page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    yield watched
    context.close()
    assert watched.errors == [], f"the browser console had errors: {watched.errors}"


def api(base: str, path: str, **params: str) -> dict:
    response = httpx.get(base + path, params=params, timeout=60)
    response.raise_for_status()
    return response.json()


def shown(tip: str) -> float:
    """The number a tooltip shows for its one series ("2024-01-01 · mrr: 1,749.5")."""
    return float(tip.rsplit(": ", 1)[1].replace(",", ""))


def drawn(tab: Watched, query: str) -> dict[str, int]:
    """Wait until the chart shows the answer to ``query``; its marks, periods and series."""
    tab.page.wait_for_selector(f'#chart[data-query="{query}"]:not([aria-busy])', timeout=30_000)
    attrs = tab.page.eval_on_selector("#chart", "el => ({...el.dataset})")
    return {k: int(attrs[k]) for k in ("marks", "periods", "series")}


def loaded_bytes(page: Page) -> int:
    """What the page loaded, but its data: the document and every resource except the API's answers."""
    return page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            let total = nav.encodedBodySize || nav.decodedBodySize;
            for (const r of performance.getEntriesByType('resource')) {
                if (!r.name.includes('/metrics/') && !r.name.includes('/ui/fragments/')) total += r.decodedBodySize;
            }
            return total;
        }"""
    )


def test_the_catalog_lists_every_metric_and_filters_them(served: str, tab: Watched) -> None:
    names = [m["name"] for m in api(served, "/metrics")["metrics"]]
    policy = httpx.get(served + "/").headers["content-security-policy"]
    assert "script-src 'self';" in policy  # no inline script runs, even one a definition's text could smuggle in
    tab.page.goto(served + "/")
    rows = tab.page.locator(".metric-row")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.name)") == names
    tab.page.wait_for_selector(".spark[data-points]")
    tab.shot("catalog")
    assert loaded_bytes(tab.page) < PAGE_BUDGET
    tab.page.fill("#q", "mrr")
    visible = tab.page.locator(".metric-row:visible").evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert visible and all(
        "mrr" in n or "mrr" in tab.page.locator(f'.metric-row[data-name="{n}"]').get_attribute("data-search")
        for n in visible
    )
    assert len(visible) < len(names)
    tab.page.fill("#q", "")
    tab.page.check("#only-deprecated")
    deprecated = tab.page.locator(".metric-row:visible").evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert deprecated == [m["name"] for m in api(served, "/metrics")["metrics"] if m["deprecation"]]


def test_a_metric_chart_has_a_mark_per_period_and_its_tooltip_shows_the_apis_number(served: str, tab: Watched) -> None:
    answer = api(served, "/metrics/mrr", grain="month")
    tab.page.goto(served + "/ui/metrics/mrr")
    got = drawn(tab, "grain=month")
    assert got == {"marks": len(answer["rows"]), "periods": len(answer["rows"]), "series": 1}
    assert loaded_bytes(tab.page) < PAGE_BUDGET
    for index in (0, len(answer["rows"]) // 2, len(answer["rows"]) - 1):
        row = answer["rows"][index]
        point = tab.page.evaluate(
            """i => { const u = window.tapflowChart; const box = u.over.getBoundingClientRect();
                      return [box.left + Math.min(u.valToPos(u.data[0][i], 'x') + 0.5, box.width - 1), box.top + box.height / 2]; }""",
            index,
        )
        tab.page.mouse.move(*point, steps=4)
        expect(tab.page.locator("#chart-tip")).to_contain_text(f"{row['period']} · mrr: ")
        assert shown(tab.page.inner_text("#chart-tip")) == pytest.approx(row["mrr"], abs=0.005)
    tab.shot("metric")


def test_changing_grain_and_dimension_with_the_keyboard_redraws_the_new_answer(served: str, tab: Watched) -> None:
    tab.page.goto(served + "/ui/metrics/mrr")
    drawn(tab, "grain=month")
    tab.page.focus("#grain")
    tab.page.keyboard.press("ArrowDown")  # month -> quarter, from the keyboard
    quarter = api(served, "/metrics/mrr", grain="quarter")["rows"]
    assert drawn(tab, "grain=quarter") == {"marks": len(quarter), "periods": len(quarter), "series": 1}
    tab.page.focus("#chart")  # the keyboard's pointer: the first period, then the next
    tab.page.keyboard.press("ArrowRight")
    expect(tab.page.locator("#chart-tip")).to_contain_text(f"{quarter[0]['period']} · mrr: ")
    assert shown(tab.page.inner_text("#chart-tip")) == pytest.approx(quarter[0]["mrr"], abs=0.005)
    tab.page.keyboard.press("ArrowRight")
    expect(tab.page.locator("#chart-tip")).to_contain_text(f"{quarter[1]['period']} · mrr: ")
    assert shown(tab.page.inner_text("#chart-tip")) == pytest.approx(quarter[1]["mrr"], abs=0.005)
    tab.page.focus("#grain")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.id") == "dimension"
    tab.page.select_option("#dimension", "customer_tier")  # (a long list: chosen by its value)
    rows = api(served, "/metrics/mrr", grain="quarter", dimensions="customer_tier")["rows"]
    tiers = {r["customer_tier"] for r in rows}
    got = drawn(tab, "dimensions=customer_tier&grain=quarter")
    assert got == {
        "marks": sum(r["mrr"] is not None for r in rows),
        "periods": len({r["period"] for r in rows}),
        "series": len(tiers),
    }
    tab.page.check("#compare")
    compared = api(served, "/metrics/mrr", grain="quarter", dimensions="customer_tier", compare="prior_period")
    got = drawn(tab, "compare=prior_period&dimensions=customer_tier&grain=quarter")
    assert got["marks"] == sum(r["mrr"] is not None for r in compared["rows"])
    tab.page.select_option("#dimension", "")
    prior = api(served, "/metrics/mrr", grain="quarter", compare="prior_period")["rows"]
    got = drawn(tab, "compare=prior_period&grain=quarter")
    assert got == {
        "marks": sum((r["mrr"] is not None) + (r["mrr_prior"] is not None) for r in prior),
        "periods": len(prior),
        "series": 2,
    }


def test_a_deprecated_metric_shows_its_banner_with_the_countdown(served: str, tab: Watched) -> None:
    entry = next(d for d in api(served, "/deprecations")["deprecations"] if d["name"] == "arr_by_customer")
    tab.page.goto(served + "/ui/metrics/arr_by_customer")
    banner = tab.page.locator("#deprecation-banner")
    assert banner.is_visible()
    text = banner.inner_text()
    assert f"{entry['days_to_sunset']} days left" in text and entry["sunset_date"] in text
    assert banner.locator(f'a[href="/ui/metrics/{entry["replaced_by"]}"]').count() == 1
    assert not [u for u in tab.requests if "/metrics/arr_by_customer?" in u]  # reading the guide is not a use
    tab.page.click("#draw-anyway")
    rows = api(served, "/metrics/arr_by_customer", grain="month")["rows"]
    assert drawn(tab, "grain=month")["periods"] == len(rows)
    tab.shot("metric-deprecated")
    tab.page.goto(served + "/ui/metrics/mrr")
    assert tab.page.locator("#deprecation-banner").count() == 0


def test_the_lineage_page_shows_customer_facts_with_its_dependents(served: str, tab: Watched) -> None:
    graph = api(served, "/lineage")
    source = "table:legacy.customer_facts"
    dependents = {e["target"] for e in graph["edges"] if e["source"] == source and e["target"].startswith("metric:")}
    assert dependents
    tab.page.goto(served + "/ui/lineage")
    node = tab.page.locator(f'g.node[data-id="{source}"]')
    assert "deprecated" in node.get_attribute("class")
    drawn_edges = set(tab.page.locator(f'path[data-from="{source}"]').evaluate_all("ps => ps.map(p => p.dataset.to)"))
    assert dependents <= drawn_edges
    for target in dependents:  # each dependent is a box on the page that opens the metric's page
        name = target.split(":", 1)[1]
        assert tab.page.locator(f'g.node[data-id="{target}"]').count() == 1
        assert tab.page.locator(f'a[href="/ui/metrics/{name.split("@")[0]}"] g.node').count() >= 1
    assert loaded_bytes(tab.page) < PAGE_BUDGET
    tab.shot("lineage")
    tab.page.goto(served + "/ui/deprecations")
    listed = api(served, "/deprecations")["deprecations"]
    rows = tab.page.locator(".deprecation-row")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.name)") == [d["name"] for d in listed]
    facts = tab.page.locator('.deprecation-row[data-name="legacy.customer_facts"] td:nth-child(4)').inner_text()
    entry = next(d for d in listed if d["name"] == "legacy.customer_facts")
    assert facts == ", ".join(d["name"] for d in entry["dependents"])
    tab.shot("deprecations")
    tab.page.goto(served + "/ui/impact")
    tab.shot("impact")
    tab.page.goto(served + "/")
    tab.page.click('.metric-row[data-name="mrr"] td:nth-child(3) a')  # the entity's link opens its page
    tab.page.wait_for_url(served + "/ui/entities/customers")
    assert tab.page.locator(".table-row").count() == len(api(served, "/entities/customers")["tables"])
    tab.shot("entity")


def test_the_impact_page_renders_the_report_as_the_pr_comment(served: str, tab: Watched) -> None:
    path = ROOT / "metrics" / "revenue.yml"
    text = path.read_text()
    changed = text.replace("calculation_method: sum", "calculation_method: max", 1)
    assert changed != text
    diff = "".join(
        __import__("difflib").unified_diff(
            text.splitlines(keepends=True),
            changed.splitlines(keepends=True),
            "a/metrics/revenue.yml",
            "b/metrics/revenue.yml",
        )
    )
    tab.page.goto(served + "/ui/impact")
    tab.page.fill("#diff", diff)
    tab.page.click("#impact-run")
    tab.page.wait_for_selector("#impact-report[data-verdict]", timeout=60_000)
    assert tab.page.get_attribute("#impact-report", "data-verdict") == "fail"  # breaking without a version bump
    assert "FAIL" in tab.page.inner_text("#impact-report")
    assert tab.page.locator("#impact-report table").count() >= 1  # the comment's Markdown tables, as HTML
    tab.shot("impact-report")


def test_with_keys_on_a_page_asks_for_the_key_first_and_shows_no_data_before(keyed: str, tab: Watched) -> None:
    tab.page.goto(keyed + "/ui/metrics/mrr")
    dialog = tab.page.locator("#key-prompt")
    dialog.wait_for(state="visible")
    assert tab.page.inner_text("main").strip() == "Waiting for an API key…"
    assert not [u for u in tab.requests if "/metrics/" in u and "/ui/" not in u]
    tab.shot("key-prompt")
    tab.page.fill("#key-input", "not-the-key")
    tab.page.click("#key-submit")
    tab.page.wait_for_selector("#key-error:not([hidden])")
    tab.errors.clear()  # the browser logs the refused request (401) as a console error: that one is expected
    tab.page.fill("#key-input", KEY)
    tab.page.click("#key-submit")
    drawn(tab, "grain=month")
    assert tab.page.evaluate("sessionStorage.getItem('tapflow-key')") == KEY
    assert tab.page.evaluate("document.cookie") == ""
    tab.page.goto(keyed + "/ui/lineage")  # the key is kept for the tab's session: no second prompt
    tab.page.wait_for_selector("#lineage-graph")
    assert not tab.page.locator("#key-prompt").is_visible()
    usage = httpx.get(keyed + "/usage", params={"group_by": "consumer"}, headers={"X-API-Key": KEY}).json()
    assert f"{KEY_NAME}/ui" in {r["key"] for r in usage["rows"]}
    tab.page.goto(keyed + "/")  # browsing the catalog (its sparklines) is not a use of each metric
    tab.page.wait_for_selector(".spark[data-points]")
    assert tab.page.locator(".spark[data-points]").count() == tab.page.locator(".spark").count()
    seen = httpx.get(keyed + "/deprecations", headers={"X-API-Key": KEY}).json()["deprecations"]
    assert all(c["consumer"] != f"{KEY_NAME}/ui" for d in seen for c in d["consumers"]), seen


def test_hours_are_drawn_at_their_instants_whatever_the_browsers_zone(served: str, browser: Browser) -> None:
    rows = api(served, "/metrics/device_events", grain="hour", start="2026-10-20", end="2026-10-21")["rows"]
    context = browser.new_context(timezone_id="America/New_York")
    try:
        page = context.new_page()
        page.goto(served + "/ui/metrics/device_events")
        page.wait_for_selector("#chart[data-query]:not([aria-busy])")  # a short history: a finer grain than month
        chosen = page.input_value("#grain")
        months = api(served, "/metrics/device_events", grain="month")["rows"]
        assert len(months) < 6 <= len(api(served, "/metrics/device_events", grain=chosen)["rows"])
        page.fill("#start", "2026-10-20")
        page.fill("#end", "2026-10-21")
        page.select_option("#grain", "hour")
        page.wait_for_selector('#chart[data-query="end=2026-10-21&grain=hour&start=2026-10-20"]')
        drawn_at = page.evaluate("window.tapflowChart.data[0]")
        expected = [datetime.fromisoformat(r["period"]).replace(tzinfo=UTC).timestamp() for r in rows]
        assert drawn_at == expected
    finally:
        context.close()


def test_on_a_phone_the_metric_page_fits_the_screen(served: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for path, ready in (
            ("/ui/metrics/arr", "#chart[data-marks]"),
            ("/ui/entities/customers", ".table-row"),
            ("/ui/deprecations", ".deprecation-row"),
        ):
            page.goto(served + path)
            page.wait_for_selector(ready)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        page.goto(served + "/ui/metrics/arr")
        page.wait_for_selector("#chart[data-marks]")
        page.screenshot(path=str(ARTIFACTS / "metric-phone.png"), full_page=True)
    finally:
        context.close()


def test_the_static_site_opens_from_the_file_system_with_working_charts(
    demo_db: Path, tmp_path: Path, tab: Watched, served: str
) -> None:
    db = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, db)
    out = tmp_path / "site"
    done = tapflow("docs", "--out", str(out), "--since", "HEAD", env=env_for(db), timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / "CHANGELOG.md").read_text().startswith("# Breaking changes since HEAD")
    assert "| Owner | revenue_team |" in (out / "markdown" / "metrics" / "mrr.md").read_text()
    assert (out / "markdown" / "entities" / "customers.md").exists()
    tab.page.goto((out / "index.html").as_uri())
    tab.page.wait_for_selector(".spark[data-points]")
    names = [m["name"] for m in api(served, "/metrics")["metrics"]]
    assert tab.page.locator(".metric-row").evaluate_all("rows => rows.map(r => r.dataset.name)") == names
    assert sorted(p.stem for p in (out / "metrics").glob("*.html")) == sorted(names)
    tab.page.click('.metric-row[data-name="mrr"] a')
    snapshot = json.loads(tab.page.inner_text("#tapflow-snapshot"))
    rows = snapshot["mrr"]["grain=month"]["rows"]
    assert drawn(tab, "grain=month") == {"marks": len(rows), "periods": len(rows), "series": 1}
    assert rows == api(served, "/metrics/mrr", grain="month")["rows"]  # the API's answer (a copy of the same data)
    tab.page.select_option("#dimension", "customer_tier")
    assert drawn(tab, "dimensions=customer_tier&grain=month")["series"] >= 2
    tab.shot("static-metric", rules=False)
    tab.page.goto((out / "lineage.html").as_uri())
    assert tab.page.locator('g.node[data-id="table:legacy.customer_facts"]').count() == 1
