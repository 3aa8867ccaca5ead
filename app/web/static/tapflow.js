/* TapFlow Metrics' web catalog: the key prompt, a page's body and its charts (uPlot), from the API itself.
   Served, data comes from the service with the key kept for this tab's session only (sessionStorage);
   in a site written by `tapflow docs`, from the snapshot written into the page. No cookies, no CDN. */
(function () {
  "use strict";
  const KEY = "tapflow-key";
  const body = document.body;
  const isStatic = body.dataset.static === "true";
  const main = document.getElementById("page");
  const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563"];
  const snapshot = (() => {
    const el = document.getElementById("tapflow-snapshot");
    return el ? JSON.parse(el.textContent) : {};
  })();

  function number(v) {
    return v === null || v === undefined ? "–" : typeof v === "number" ? fmt.format(v) : String(v);
  }

  // -- the key, asked for once per tab ---------------------------------------------------------------------
  let asking = null;
  function askForKey(message) {
    if (asking) return asking;
    const dialog = document.getElementById("key-prompt");
    const error = document.getElementById("key-error");
    error.hidden = !message;
    error.textContent = message || "";
    asking = new Promise((resolve) => {
      const form = document.getElementById("key-form");
      form.addEventListener("submit", function done() {
        const key = document.getElementById("key-input").value.trim();
        if (!key) return;
        sessionStorage.setItem(KEY, key);
        form.removeEventListener("submit", done);
        asking = null;
        resolve(key);
      });
      dialog.addEventListener("close", function closed() {  // Escape: the page offers the prompt again
        if (sessionStorage.getItem(KEY)) return dialog.removeEventListener("close", closed);
        const again = document.createElement("button");
        again.type = "button";
        again.textContent = "Enter an API key";
        again.addEventListener("click", () => { again.remove(); dialog.showModal(); });
        main.append(again);
      });
      dialog.showModal();
      document.getElementById("key-input").focus();
    });
    return asking;
  }

  class Problem extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const headers = Object.assign({ "X-Consumer": "ui" }, options.headers || {});
      const key = sessionStorage.getItem(KEY);
      if (key) headers.Authorization = "Bearer " + key;
      const response = await fetch(path, Object.assign({}, options, { headers }));
      if (response.status === 401 || (response.status === 403 && !key)) {
        sessionStorage.removeItem(KEY);
        await askForKey(key ? "That key was not accepted. Try another." : "");
        continue;
      }
      if (!response.ok) {
        let detail = response.statusText;
        try {
          detail = (await response.json()).detail || detail;
        } catch (_) { /* not a problem document */ }
        throw new Problem(response.status, detail);
      }
      return response;
    }
    throw new Problem(401, "No key was accepted.");
  }

  function offerAnotherKey(where) {  // a key without the scope a page needs: try another
    const again = document.createElement("button");
    again.type = "button";
    again.textContent = "Use another key";
    again.addEventListener("click", () => { sessionStorage.removeItem(KEY); again.remove(); askForKey(""); });
    where.append(again);
  }

  function showProblem(where, error) {
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = error.message;
    where.replaceChildren(p);
  }

  // -- data for a chart: the API's answer (served) or the snapshot's (static site) -------------------------
  function queryKey(params) {
    return Object.keys(params).sort().filter((k) => params[k] !== "" && params[k] !== null && params[k] !== undefined)
      .map((k) => k + "=" + params[k]).join("&");
  }

  async function metricData(name, params) {
    const key = queryKey(params);
    if (isStatic) {
      const answer = (snapshot[name] || {})[key];
      if (!answer) throw new Problem(404, "This view is not in the snapshot taken when the site was written.");
      if (answer.problem) throw new Problem(answer.status, answer.problem);
      return answer;
    }
    const response = await api("/metrics/" + encodeURIComponent(name) + "?" + new URLSearchParams(key));
    return response.json();
  }

  // -- charts ------------------------------------------------------------------------------------------------
  const COARSE = new Set(["quarter", "year", "fiscal_quarter", "fiscal_year"]);

  // A period's start as epoch seconds: a date or an hour without an offset is read as UTC (the chart is then drawn
  // in UTC); an hour with its offset (a query in a zone) is that instant, drawn in the answer's zone.
  function seconds(period) {
    const offset = /([+-]\d{2}:\d{2}|Z)$/.test(period);
    const text = /^\d{4}-\d{2}-\d{2}$/.test(period) ? period + "T00:00:00Z" : offset ? period : period + "Z";
    return Date.parse(text) / 1000;
  }

  // Rows of an answer as uPlot columns: x (period starts) and one series per dimension value (the 8 largest).
  function columns(answer, metric, dimension, compare) {
    const periods = [...new Set(answer.rows.map((r) => r.period))].sort();
    const at = new Map(periods.map((p, i) => [p, i]));
    const series = [];
    const empty = () => periods.map(() => null);
    let note = "";
    if (!dimension) {
      const values = empty();
      const prior = empty();
      for (const r of answer.rows) {
        values[at.get(r.period)] = r[metric];
        prior[at.get(r.period)] = r[metric + "_prior"];
      }
      series.push({ label: metric, values });
      if (compare) series.push({ label: metric + " (prior)", values: prior, dash: [6, 4] });
    } else {
      const totals = new Map();
      const label = (v) => (v === null || v === undefined ? "\u2205 (null)" : String(v));
      for (const r of answer.rows) {
        const k = label(r[dimension]);
        totals.set(k, (totals.get(k) || 0) + Math.abs(r[metric] || 0));
      }
      const kept = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a)).slice(0, 8);
      if (totals.size > kept.length) note = `The ${kept.length} largest of ${totals.size} ${dimension} values are drawn.`;
      for (const k of kept) series.push({ label: k, values: empty() });
      const index = new Map(kept.map((k, i) => [k, i]));
      for (const r of answer.rows) {
        const k = label(r[dimension]);
        if (index.has(k)) series[index.get(k)].values[at.get(r.period)] = r[metric];
      }
    }
    return { periods, series, note };
  }

  function drawChart(el, tip, answer, metric, grain, dimension, compare, query) {
    const { periods, series, note } = columns(answer, metric, dimension, compare);
    const bars = COARSE.has(grain) || periods.length <= 3;
    const zoned = periods.some((p) => /[+-]\d{2}:\d{2}$/.test(p));
    const zone = zoned && answer.meta && answer.meta.tz ? answer.meta.tz : "Etc/UTC";
    const notes = [note];
    if (answer.meta && answer.meta.truncated) {
      notes.push(`The answer stops at ${answer.rows.length} rows: choose a coarser grain or a shorter range to see it all.`);
    }
    if (compare && dimension) notes.push("The prior period is drawn without a dimension: choose none to see it.");
    const width = Math.max(280, el.clientWidth || 640);
    const opts = {
      width,
      height: Math.min(360, Math.max(220, Math.round(width * 0.4))),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone),
      legend: { show: series.length > 1 },
      cursor: { points: { size: 8 } },
      scales: { x: { time: true } },
      axes: [{}, { values: (u, ticks) => ticks.map((v) => compact.format(v)), size: 64 }],
      series: [{ label: "period", value: (u, v, s, i) => (i === null || i === undefined ? "–" : periods[i]) }].concat(
        series.map((s, i) => ({
          label: s.label,
          stroke: palette[i % palette.length],
          fill: bars ? palette[i % palette.length] + "99" : undefined,
          width: 2,
          dash: s.dash,
          points: { show: !bars, size: 5 },
          paths: bars ? uPlot.paths.bars({ size: [0.8 / Math.max(1, series.length), 64] }) : undefined,
          value: (u, v) => number(v),
        }))
      ),
      hooks: {
        setCursor: [(u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined) return;
          const parts = series.map((s) => `${s.label}: ${number(s.values[i])}`);
          tip.textContent = `${periods[i]} · ${parts.join(" · ")}`;
        }],
        draw: [(u) => {  // one mark per period drawn: count those inside the plot
          let marks = 0;
          for (let s = 1; s < u.series.length; s++) {
            const [lo, hi] = u.series[s].idxs || [0, periods.length - 1];
            for (let i = lo; i <= hi; i++) if (u.data[s][i] !== null && u.data[s][i] !== undefined) marks++;
          }
          el.dataset.marks = String(marks);
          el.dataset.periods = String(periods.length);
          el.dataset.series = String(series.length);
          el.dataset.query = query;  // last: what the chart now shows
        }],
      },
    };
    const data = [periods.map(seconds)].concat(series.map((s) => s.values));
    for (const k of ["query", "marks", "periods", "series"]) delete el.dataset[k];
    if (el._chart) el._chart.destroy();
    el.replaceChildren();
    el._chart = new uPlot(opts, data, el);
    el._answer = answer;
    window.tapflowChart = el._chart;
    tip.textContent = periods.length ? "Point at the chart for a period's values." : "No rows in this range.";
    return notes.filter(Boolean).join(" ");
  }

  function initMetric() {
    const el = document.getElementById("chart");
    if (!el) return;
    const tip = document.getElementById("chart-tip");
    const note = document.getElementById("chart-note");
    const metric = el.dataset.metric;
    const control = (id) => document.getElementById(id);
    let asked = 0;
    let touched = false;  // the reader chose a grain: keep it, however few periods it shows
    const MIN_PERIODS = 6;
    function finerGrain(grain) {
      const order = ["year", "quarter", "month", "week", "day"];
      const offered = [...control("grain").options].map((o) => o.value);
      return order.slice(order.indexOf(grain) + 1).find((g) => offered.includes(g)) || null;
    }
    async function redraw(event) {
      if (event) touched = true;
      const grain = control("grain").value;
      const dimension = control("dimension").value;
      const compare = control("compare") && control("compare").checked;
      const params = { grain, dimensions: dimension };
      if (!isStatic) {
        params.start = control("start").value;
        params.end = control("end").value;
        if (compare) params.compare = "prior_period";
      }
      const mine = ++asked;
      el.setAttribute("aria-busy", "true");
      try {
        const answer = await metricData(metric, params);
        if (mine !== asked) return;
        const finer = finerGrain(grain);
        if (!touched && answer.rows.length < MIN_PERIODS && finer && !dimension) {  // a short history: show its detail
          control("grain").value = finer;
          return redraw();
        }
        note.textContent = drawChart(el, tip, answer, metric, grain, dimension, compare, queryKey(params)) || "";
      } catch (error) {
        if (mine === asked) {
          if (el._chart) el._chart.destroy();
          el._chart = null;
          for (const k of ["query", "marks", "periods", "series"]) delete el.dataset[k];
          showProblem(el, error);
        }
      } finally {
        if (mine === asked) el.removeAttribute("aria-busy");
      }
    }
    if (isStatic) {  // the snapshot holds the dimensions at the first grain only
      const first = control("grain").value;
      control("grain").addEventListener("change", () => {
        const other = control("grain").value !== first;
        control("dimension").disabled = other;
        if (other) control("dimension").value = "";
        control("dimension").title = other ? `Dimensions are in this snapshot at ${first} only.` : "";
      });
    }
    for (const id of ["grain", "dimension", "start", "end", "compare"]) {
      if (control(id)) control(id).addEventListener("change", redraw);
    }
    const banner = document.getElementById("deprecation-banner");
    if (banner && !isStatic) {  // reading the migration guide is not a use: the chart's request would be recorded
      const draw = document.createElement("button");
      draw.type = "button";
      draw.id = "draw-anyway";
      draw.textContent = "Draw the chart (recorded as a use of this deprecated metric)";
      draw.addEventListener("click", () => { draw.remove(); redraw(); });
      el.before(draw);  // beside the chart, not in it: the chart is one image to assistive technology
      tip.textContent = "";
    }
    el.tabIndex = 0;  // the keyboard's pointer: arrow keys step through the periods, the values are announced
    el.addEventListener("keydown", (event) => {
      const u = el._chart;
      const step = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity }[event.key];
      if (!u || step === undefined || !u.data[0].length) return;
      event.preventDefault();
      const last = u.data[0].length - 1;
      const now = u.cursor.idx === null || u.cursor.idx === undefined ? (step > 0 ? -1 : last + 1) : u.cursor.idx;
      const i = Math.max(0, Math.min(last, now + step));
      u.setCursor({ left: u.valToPos(u.data[0][i], "x"), top: u.over.clientHeight / 2 });
    });
    new ResizeObserver(() => {
      if (el._chart) el._chart.setSize({ width: Math.max(280, el.clientWidth), height: el._chart.height });
    }).observe(el);
    if (!banner || isStatic) redraw();
  }

  // -- the catalog: filters and sparklines ------------------------------------------------------------------
  function initCatalog() {
    const rows = [...document.querySelectorAll(".metric-row")];
    const q = document.getElementById("q");
    const verified = document.getElementById("only-verified");
    const deprecated = document.getElementById("only-deprecated");
    const entity = document.getElementById("entity");
    const shown = document.getElementById("shown");
    function filter() {
      const words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      let count = 0;
      for (const row of rows) {
        const ok = words.every((w) => row.dataset.search.includes(w)) &&
          (!verified.checked || row.dataset.verified === "true") &&
          (!deprecated.checked || row.dataset.deprecated === "true") &&
          (!entity.value || row.dataset.entity === entity.value);
        row.hidden = !ok;
        count += ok;
      }
      shown.textContent = `${count} of ${rows.length} metrics`;
    }
    for (const input of [q, verified, deprecated, entity]) input.addEventListener("input", filter);
    const sparks = [...document.querySelectorAll(".spark")];
    const all = isStatic
      ? Promise.resolve(Object.fromEntries(sparks.map((el) => [el.dataset.metric, (snapshot[el.dataset.metric] || {}).spark])))
      : api("/ui/data/sparklines").then((r) => r.json());
    all.then((answers) => {
      for (const el of sparks) {
        const answer = answers[el.dataset.metric];
        if (answer && answer.rows) sparkline(el, answer);
        else el.textContent = "–";
      }
    }).catch((error) => showProblem(document.getElementById("shown"), error));
  }

  function sparkline(el, answer) {
    const metric = el.dataset.metric;
    const rows = answer.rows.filter((r) => typeof r[metric] === "number");
    el.replaceChildren();
    el.dataset.points = String(rows.length);
    if (!rows.length) { el.textContent = "no data"; return; }
    const opts = {
      width: 140, height: 32, legend: { show: false }, cursor: { show: false }, select: { show: false },
      scales: { x: { time: false } }, axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: "#2563eb", width: 1.5, points: { show: false } }],
    };
    new uPlot(opts, [rows.map((_, i) => i), rows.map((r) => r[metric])], el);
    const last = rows[rows.length - 1];
    el.title = `${metric} ${last.period}: ${number(last[metric])}`;
  }

  // -- impact: a diff or files, the report as the pull request's comment shows it --------------------------
  function initImpact() {
    const form = document.getElementById("impact-form");
    const out = document.getElementById("impact-report");
    form.addEventListener("submit", async () => {
      const files = document.getElementById("files").files;
      let options;
      if (files.length) {
        const proposed = {};
        for (const f of files) {
          const text = await f.text();
          const folder = /^entities:/m.test(text) ? "entities/" : "metrics/";  // a bare name: its folder by its content
          const path = f.name.includes("__") ? f.name.replaceAll("__", "/") : folder + f.name;
          proposed[path] = text;
        }
        options = { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ files: proposed }) };
      } else {
        options = { headers: { "Content-Type": "text/x-diff" }, body: document.getElementById("diff").value };
      }
      const run = document.getElementById("impact-run");
      run.disabled = true;  // one analysis at a time: a later answer never overwrites a newer one
      out.setAttribute("aria-busy", "true");
      out.textContent = "Analyzing…";
      try {
        const response = await api("/impact?format=html", Object.assign({ method: "POST" }, options));
        out.innerHTML = await response.text();  // the service's HTML: Markdown rendered with raw HTML escaped
        out.dataset.verdict = response.headers.get("X-Impact-Verdict") || "";
      } catch (error) {
        showProblem(out, error);
        if (error.status === 403) offerAnotherKey(out);
      } finally {
        out.removeAttribute("aria-busy");
        run.disabled = false;
      }
    });
  }

  function initCsv() {  // with keys on, a plain link would go without the key: fetch it with the key, then save
    const link = document.getElementById("csv-link");
    if (!link || isStatic || !main.dataset.fragment) return;
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      try {
        const blob = await (await api(link.getAttribute("href"))).blob();
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = link.dataset.file || "metric.csv";
        a.click();
        URL.revokeObjectURL(a.href);
      } catch (error) {
        showProblem(link.parentElement, error);
      }
    });
  }

  function initCopy() {
    const curl = document.getElementById("curl");
    if (curl && curl.dataset.path && location.protocol.startsWith("http")) {  // this page's own address
      curl.textContent = `curl -H "Authorization: Bearer $TAPFLOW_API_KEY" '${location.origin}${curl.dataset.path}'`;
    }
    document.querySelectorAll(".copy-button").forEach((button) => {
      button.addEventListener("click", async () => {
        const text = document.getElementById(button.dataset.copy).textContent;
        try {
          await navigator.clipboard.writeText(text);
          button.textContent = "Copied";
        } catch (_) {
          button.textContent = "Select and copy";
        }
      });
    });
  }

  function init() {
    // the page's forms act in place (no inline handlers: the pages' Content-Security-Policy forbids them)
    document.querySelectorAll("main form").forEach((f) => f.addEventListener("submit", (e) => e.preventDefault()));
    const page = body.dataset.page;
    if (page === "catalog") initCatalog();
    if (page === "metric") initMetric();
    if (page === "impact") initImpact();
    initCsv();
    initCopy();
  }

  async function boot() {
    const url = main.dataset.fragment;
    if (!url) return init();
    try {
      const response = await api(url);
      main.innerHTML = await response.text();  // the service's own rendered page, autoescaped
      main.removeAttribute("aria-busy");
      init();
    } catch (error) {
      main.removeAttribute("aria-busy");
      showProblem(main, error);
    }
  }

  boot();
})();
