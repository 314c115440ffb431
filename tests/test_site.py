"""A real browser on the built site (``_build/html``), offline.

Serves ``_build/html`` on 127.0.0.1, blocks every request to any other host, and visits every page of the
table of contents (``_toc.yml``, or ``$BOOK_TOC`` for a partial build) and the search page with
Chromium (Debian's ``/usr/bin/chromium``, installed by ``scripts/install_browser.sh``, or ``$S3REC_CHROMIUM``)
at 1280 x 900. A page fails on

- any console error: an uncaught JS exception or a ``console.error`` (none is allowed: the theme's own errors are
  fixed at the root, in ``_config.yml`` and ``book/_ext/s3rec_site.py``), a failed request, an HTTP status >= 400,
  a request to another host (a CDN);
- any output wider than its box: a cell output (or anything in it: printed text, a table, an image, a widget)
  that scrolls or is clipped horizontally, or sticks out to the right of the article column, and any table of the
  page that does so. **Highlighted code blocks may scroll**: the source of a code cell, a ``literalinclude`` or a
  fenced code block keeps its lines (wrapping Python would hide its indentation) and gets a horizontal
  scrollbar; what a cell *prints* may not;
- a visible nbval marker (``NBVAL_...``; the build hides them: ``book/_ext/s3rec_site.py``), or a solution or
  hidden-test marker; "visible" includes content collapsed behind a toggle, which a reader opens with a click;
- an ``<img>`` without real alt text (empty, or only a file name, which is what Sphinx writes for an output image
  without alt text); figures get theirs from ``{glue:figure}``'s ``:alt:``;
- a figure that did not load, math that MathJax did not typeset, widget state with no widget drawn.

Besides, no file of the built site (pages, sources offered for download, search index) may contain a solution
or hidden-test marker. Each check is shown to fail by ``test_checks_catch_planted_defects``, which plants every
defect in small synthetic pages. Writes a full-page screenshot of each page to ``_build/screenshots/``.

Skipped when Chromium or the built site is missing, unless ``S3REC_REQUIRE_BROWSER=1`` (set by
``scripts/test_book.sh``), which turns both into failures.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("S3REC_BOOK_BUILD", ROOT / "_build"))  # the folder jupyter-book wrote (its _build)
HTML = BUILD / "html"
SHOTS = BUILD / "screenshots"
TOC = Path(os.environ.get("BOOK_TOC") or ROOT / "_toc.yml")
CHROMIUM = Path(os.environ.get("S3REC_CHROMIUM") or "/usr/bin/chromium")
REQUIRED = os.environ.get("S3REC_REQUIRE_BROWSER") == "1"
# Chapters that must show at least one figure.
MUST_HAVE_FIGURES = ("book/01_welcome", "book/02_data_and_evaluation", "book/07_mutual_information",
                     "book/13_pretrain_finetune")
# Text that must never reach a reader: the markers of the master assignments (nbgrader's).
LEAK_MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS")
NBVAL_MARKER = "NBVAL_"
PHONE_WIDTH = 390  # CSS px: a phone held upright; no page may scroll sideways at this width


def _need(condition: bool, why: str) -> None:
    if not condition:
        if REQUIRED:
            pytest.fail(f"{why} (S3REC_REQUIRE_BROWSER=1)")
        pytest.skip(why)


def toc_pages(toc: Path = TOC) -> list[str]:
    """Every page of the table of contents, as a path without suffix (``book/01_welcome``)."""
    import yaml

    data = yaml.safe_load(toc.read_text())
    pages = [data["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                pages.append(e["file"])
            walk(e.get("sections"))

    for part in data.get("parts", []):
        walk(part.get("chapters"))
    walk(data.get("chapters"))
    return pages


def files_with_markers(root: Path, markers=LEAK_MARKERS) -> list[str]:
    """Every file under ``root`` whose text holds one of ``markers`` (as ``path: marker``)."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # images, fonts
        hits += [f"{path.relative_to(root)}: {m}" for m in markers if m in text]
    return hits


# Checks run at both widths (desktop and phone). Each returns a list of problems, one string each.
SHARED_JS = r"""
  const short = (el) => {
    const cls = (el.className && typeof el.className === "string") ? "." + el.className.trim().split(/\s+/).join(".") : "";
    return `<${el.tagName.toLowerCase()}${cls}> "${(el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60)}"`;
  };
  // a display equation wider than its box must scroll (overflow-x auto or scroll), never be cut or spill out
  const wideMath = () => {
    const out = [];
    for (const m of document.querySelectorAll("mjx-container[display='true'], mjx-container[display]")) {
      if (m.getClientRects().length === 0) continue;
      const parent = m.parentElement.getBoundingClientRect();
      const rect = m.getBoundingClientRect();
      const scrolls = ["auto", "scroll"].includes(getComputedStyle(m).overflowX);
      if (m.scrollWidth > m.clientWidth + 1 && !scrolls) {
        out.push(`${short(m)}: ${m.scrollWidth}px of math in a ${m.clientWidth}px box that does not scroll`);
      } else if (rect.right > parent.right + 1 || rect.left < parent.left - 1) {
        out.push(`${short(m)}: ${Math.round(rect.width)}px wide in a ${Math.round(parent.width)}px container`);
      }
    }
    return out;
  };
  // a figure or caption with nothing drawn in it (an image, svg, canvas or widget); and an informal caption
  // ("Figure: ..." / "Fig. 3 ..." as a paragraph) right after a code cell that drew nothing
  const drawn = "img, svg, canvas, object, iframe, video, .jupyter-widgets, .widget-box, [class*='widget-']";
  const emptyFigures = () => {
    const out = [];
    const boxes = new Set();
    const root = document.querySelector(".bd-article") || document.querySelector("main") || document.body;
    for (const c of root.querySelectorAll("figcaption, .caption")) {
      if (c.closest("table")) continue;  // a table's caption belongs to a table
      boxes.add(c.closest("figure, div.figure, .figure") || c.parentElement);
    }
    for (const f of root.querySelectorAll("figure, div.figure")) boxes.add(f);
    for (const b of boxes) if (b && !b.closest("table") && !b.querySelector(drawn)) out.push(`${short(b)}: a caption with no figure`);
    for (const p of root.querySelectorAll("p")) {
      // (a reference that opens a paragraph, "Fig. 15.1 draws ...", is not a caption: numbers are per chapter)
      if (!/^\s*Fig(ure|\.)\s*(\d+(\.\d+)*)?\s*[:.](\s|$)/.test(p.textContent)) continue;
      let prev = p.previousElementSibling;
      if (prev && prev.matches(".cell, div.cell") && !prev.querySelector(".cell_output " + drawn.split(", ").join(", .cell_output "))) {
        out.push(`${short(p)}: a caption after a code cell that shows no figure`);
      }
    }
    return Array.from(new Set(out));
  };
"""

# At a phone's width the page itself must not scroll sideways; lists the outermost elements that stick out.
PHONE_JS = r"""
() => {
""" + SHARED_JS + r"""
  const doc = document.documentElement;
  const limit = doc.clientWidth;
  const wide = [];
  // inside a box that scrolls or clips (a code block), content past the edge does not widen the page
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  if (doc.scrollWidth > limit + 1) {
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.right > limit + 1 && getComputedStyle(el).position !== "fixed" && !wide.some((w) => w.contains(el))
          && el.getClientRects().length > 0 && !clipped(el)) wide.push(el);
      if (wide.length >= 5) break;
    }
  }
  return {scrollWidth: doc.scrollWidth, clientWidth: limit,
          wide: wide.map((el) => `${short(el)}: right edge at ${Math.round(el.getBoundingClientRect().right)}px`),
          wideMath: wideMath()};
}
"""

# What the page shows, measured in the browser. Returns lists of problems, one string each.
AUDIT_JS = r"""
([nbvalMarker, leakMarkers]) => {
""" + SHARED_JS + r"""
  const MIN_CELL_PADDING = 4;
  const article = document.querySelector(".bd-article") || document.querySelector("main") || document.body;
  const right = article.getBoundingClientRect().right;
  const describe = (el) => {
    const cls = (el.className && typeof el.className === "string") ? "." + el.className.trim().split(/\s+/).join(".") : "";
    const cell = el.closest(".cell");  // numbered as on the page (code cells only), from 1
    const where = cell ? ` in code cell ${Array.from(document.querySelectorAll(".cell")).indexOf(cell) + 1}` : "";
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60);
    return `<${el.tagName.toLowerCase()}${cls}>${where} "${text}"`;
  };
  // highlighted code blocks (cell sources, literalinclude, fenced code) may scroll; outputs may not
  const isCode = (el) => !el.closest(".cell_output") && !!el.closest(".cell_input, div[class*='highlight-'], div.highlight");
  const candidates = new Set([
    ...article.querySelectorAll(".cell_output, .cell_output *, table, .pst-scrollable-table-container, pre"),
  ]);
  const overflow = [], flagged = [];
  for (const el of candidates) {  // document order: an ancestor comes first, and only it is reported
    if (isCode(el) || flagged.some((f) => f.contains(el))) continue;
    const style = getComputedStyle(el);
    if (style.display === "inline" || style.display === "none" || style.visibility === "hidden") continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 && rect.height === 0) continue;
    // the boxes whose content must fit: outputs, printed text, tables, and anything that scrolls or clips
    // (content wider than an element with overflow: visible, e.g. a slider's handle, is judged by the next test)
    const box = el.matches(".cell_output, .cell_output > .output, pre, table, .pst-scrollable-table-container")
      || style.overflowX !== "visible";
    if (box && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      overflow.push(`${describe(el)}: content ${el.scrollWidth}px wide in a ${el.clientWidth}px box`);
      flagged.push(el);
    } else if (rect.right > right + 1) {
      overflow.push(`${describe(el)}: sticks out ${Math.round(rect.right - right)}px past the article column`);
      flagged.push(el);
    }
  }
  // text nodes, collapsed ones included (a click shows them), scripts and styles excluded
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => n.parentElement && n.parentElement.closest("script, style, template, noscript")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const nbval = [], leaks = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.nodeValue;
    if (t.includes(nbvalMarker)) nbval.push(describe(n.parentElement));
    for (const m of leakMarkers) if (t.includes(m)) leaks.push(`${m}: ${describe(n.parentElement)}`);
  }
  const fileName = /(^|\/)[^\/\s]+\.(png|jpe?g|gif|svg|webp)$/i;
  const missingAlt = Array.from(document.images)
    .filter((i) => { const a = (i.getAttribute("alt") || "").trim(); return !a || fileName.test(a) || a.includes("_images/"); })
    .map((i) => `${(i.getAttribute("src") || "").slice(0, 80)} (alt="${i.getAttribute("alt") || ""}")`);
  const images = Array.from(document.images).map((i) => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
  // output tables (pandas Styler and plain DataFrame HTML): each cell keeps its neighbours' text apart
  const cramped = [];
  for (const cell of document.querySelectorAll(".cell_output table th, .cell_output table td, table.dataframe th, table.dataframe td")) {
    const s = getComputedStyle(cell);
    if (s.display === "none" || cell.getClientRects().length === 0) continue;
    const pad = Math.min(parseFloat(s.paddingLeft), parseFloat(s.paddingRight));
    if (pad < MIN_CELL_PADDING) cramped.push(`${describe(cell)}: horizontal padding ${pad}px`);
  }
  return {overflow, nbval, leaks, missingAlt, images, cramped: cramped.slice(0, 10), wideMath: wideMath(),
          emptyFigures: emptyFigures(),
          mathNodes: document.querySelectorAll("mjx-container").length,
          sliders: document.querySelectorAll(".widget-slider").length};
}
"""


@dataclass
class Report:
    """Everything one visit found wrong (empty lists: nothing), and what it measured."""
    blocked: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    bad_status: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    overflow: list = field(default_factory=list)
    nbval: list = field(default_factory=list)
    leaks: list = field(default_factory=list)
    missing_alt: list = field(default_factory=list)
    broken_images: list = field(default_factory=list)
    cramped_cells: list = field(default_factory=list)
    wide_math: list = field(default_factory=list)
    empty_figures: list = field(default_factory=list)
    phone_scroll: list = field(default_factory=list)
    loaded_images: int = 0
    math_nodes: int = 0
    sliders: int = 0

    def problems(self) -> dict[str, list]:
        names = ("blocked", "failed", "bad_status", "console_errors", "overflow", "nbval", "leaks", "missing_alt",
                 "broken_images", "cramped_cells", "wide_math", "empty_figures", "phone_scroll")
        return {n: getattr(self, n) for n in names if getattr(self, n)}


def inspect_page(browser, url: str, wait_widgets=False, wait_math=False, screenshot: Path | None = None) -> Report:
    """Open ``url`` in a fresh context (only its own host reachable) and audit the page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    report = Report()
    host = urlparse(url).netloc

    def route(r):
        if urlparse(r.request.url).netloc == host:
            r.continue_()
        else:
            report.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: report.failed.append(f"{req.url} ({req.failure})"))
    page.on("response", lambda resp: resp.status >= 400 and report.bad_status.append(f"{resp.status} {resp.url}"))
    page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: report.console_errors.append(f"pageerror: {exc}"))
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        if wait_widgets:
            page.wait_for_selector(".widget-slider", timeout=60_000)
        if wait_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=60_000)
            page.evaluate("() => MathJax.startup.promise")
        page.wait_for_load_state("networkidle", timeout=60_000)
        audit = page.evaluate(AUDIT_JS, [NBVAL_MARKER, list(LEAK_MARKERS)])
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        # the same page on a phone: nothing may make the page itself scroll sideways
        page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
        page.wait_for_timeout(300)  # let the layout (and MathJax's reflow) settle
        phone = page.evaluate(PHONE_JS)
    finally:
        context.close()
    report.overflow, report.nbval, report.leaks = audit["overflow"], audit["nbval"], audit["leaks"]
    report.missing_alt = audit["missingAlt"]
    report.broken_images = [i["src"] for i in audit["images"] if not i["ok"]]
    report.loaded_images = sum(i["ok"] for i in audit["images"])
    report.cramped_cells, report.empty_figures = audit["cramped"], audit["emptyFigures"]
    report.wide_math = audit["wideMath"] + [f"at {PHONE_WIDTH}px: {m}" for m in phone["wideMath"]]
    if phone["scrollWidth"] > phone["clientWidth"] + 1:
        report.phone_scroll = [f"at {PHONE_WIDTH}px the page is {phone['scrollWidth']}px wide"] + phone["wide"]
    report.math_nodes, report.sliders = audit["mathNodes"], audit["sliders"]
    return report


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server():
    _need((HTML / "index.html").exists(), f"no built site in {HTML} (bash scripts/test_book.sh)")
    with serve(HTML) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    _need(CHROMIUM.exists(), f"no {CHROMIUM} (bash scripts/install_browser.sh)")
    try:
        from playwright import sync_api
    except ImportError:
        _need(False, "playwright is not installed (requirements.txt)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


# ------------------------------------------------------------------------------------------------
# The site
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page_path", toc_pages() + ["search"])
def test_page(page_path, server, browser):
    html_file = HTML / f"{page_path}.html"
    assert html_file.exists(), f"{html_file} was not built"
    source = html_file.read_text(encoding="utf-8")
    has_widgets = "application/vnd.jupyter.widget-state+json" in source
    has_math = 'class="math' in source or "\\(" in source
    report = inspect_page(browser, f"{server}/{page_path}.html", wait_widgets=has_widgets, wait_math=has_math,
                          screenshot=SHOTS / (page_path.replace("/", "__") + ".png"))
    problems = report.problems()
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())
    if page_path in MUST_HAVE_FIGURES:
        assert report.loaded_images > 0, "this chapter should show at least one figure"
    if has_math:
        assert report.math_nodes > 0, "the page has math but MathJax typeset nothing"
    if has_widgets:
        assert report.sliders > 0, "the page has widget state but no slider was drawn"


# Sliders over pre-rendered figures (book.widgets.FigureSwitcher, SweepSwitcher): they work without a kernel.
SWITCHERS = {"book/07_mutual_information": "#ch03-infonce-switcher",
             "book/13_pretrain_finetune": "#ch10-sweep-switcher",  # the stored LastFM sweep, queued points included
             "book/16_ablation": "#ch12-weights-switcher"}  # the loss weights over the stored ablation runs


@pytest.mark.parametrize("page_path", [p for p in SWITCHERS if p in toc_pages()])
def test_static_slider_switches_the_figure(page_path, server, browser):
    """Moving each slider of the page's switcher to its far end, then back to the other end, shows exactly one
    figure, the one of the new state, and the state changes (``data-current``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    try:
        page.goto(f"{server}/{page_path}.html", wait_until="load", timeout=60_000)
        root = page.locator(SWITCHERS[page_path])
        assert root.count() == 1, f"no {SWITCHERS[page_path]} on the page"
        sliders = root.locator("input[type=range]")
        assert sliders.count() >= 1
        for i in range(sliders.count()):
            at_max = sliders.nth(i).evaluate("(el) => el.value === el.max")  # chapter 16's start at their right end
            for end in (("min", "max") if at_max else ("max", "min")):
                before = root.get_attribute("data-current")
                sliders.nth(i).evaluate(f"(el) => {{ el.value = el.{end}; el.dispatchEvent(new Event('input')); }}")
                after = root.get_attribute("data-current")
                shown = root.locator("img[data-state]:visible")
                assert shown.count() == 1 and shown.first.get_attribute("data-state") == after, (i, end, after)
                assert after != before, f"slider {i} to its {end}: the state stayed {before}"
                said = root.locator("p[data-state]:visible")  # a readout line, where the switcher has them
                if root.locator("p[data-state]").count():
                    assert said.count() == 1 and said.first.get_attribute("data-state") == after, (i, end, after)
    finally:
        context.close()


def _open(browser, url: str):
    """A fresh context at the desktop size, only the site's own host reachable; returns (context, page)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    host = urlparse(url).netloc
    page.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).netloc == host else r.abort())
    page.goto(url, wait_until="load", timeout=60_000)
    return context, page


def _set_slider(locator, end: str) -> None:
    locator.evaluate(f"(el) => {{ el.value = el.{end}; el.dispatchEvent(new Event('input')); }}")


@pytest.mark.skipif("book/16_ablation" not in toc_pages(), reason="chapter 16 is not in this table of contents")
def test_ch16_weight_sliders_run_from_zero_to_the_paper_weight_and_line_up(server, browser):
    """Issue 24: each loss-weight slider runs left to right from 0 (the objective removed) to the paper's weight
    (where it starts), and the four tracks start at the same x (their names have one fixed width)."""
    from s3rec_lite.config import PAPER_WEIGHTS

    context, page = _open(browser, f"{server}/book/16_ablation.html")
    try:
        root = page.locator(SWITCHERS["book/16_ablation"])
        sliders = root.locator("input[type=range][data-knob]")
        assert sliders.count() == 4
        lefts, widths = [], []
        for i in range(sliders.count()):
            s = sliders.nth(i)
            knob = s.get_attribute("data-knob")
            values = [float(v) for v in s.get_attribute("data-values").split(",")]
            assert values == sorted(values) and values[0] == 0.0, (knob, values)
            assert values[-1] == PAPER_WEIGHTS[knob] and int(s.input_value()) == len(values) - 1, knob  # starts right
            box = s.bounding_box()
            lefts.append(box["x"])
            widths.append(box["width"])
        for i in range(sliders.count()):
            s = sliders.nth(i)
            knob = s.get_attribute("data-knob")
            _set_slider(s, "min")  # left end: the objective removed
            assert root.get_attribute("data-current") == f"{knob}=0"
            assert float(s.locator("xpath=following-sibling::output").inner_text()) == 0.0
            _set_slider(s, "max")  # right end: the paper's weight
            assert root.get_attribute("data-current") == f"{knob}={PAPER_WEIGHTS[knob]:g}"
            lefts.append(s.bounding_box()["x"])  # and the tracks stay put while readouts change
        assert max(lefts) - min(lefts) <= 1, f"the slider tracks start at different x: {lefts}"
        assert max(widths) - min(widths) <= 1, f"the slider tracks have different widths: {widths}"
    finally:
        context.close()


@pytest.mark.skipif("book/13_pretrain_finetune" not in toc_pages(), reason="chapter 13 is not in this table of contents")
def test_ch13_sweep_sliders_step_through_every_planned_point_and_line_up(server, browser):
    """Issue 22: each of the five sweep sliders (mask ratio, the four weights) runs left to right over every planned
    value (``widgets.sweep_plan``), starting at the paper's; every position shows one figure and one readout, both
    different from the previous position's (a point not stored yet has its own state that says so), the other
    sliders go back to the paper's point, and the five tracks start at the same x and have the same width."""
    from s3rec_lite.book.widgets import SWEEP_QUEUED, sweep_defaults, sweep_plan

    plan, defaults = sweep_plan(), sweep_defaults()
    context, page = _open(browser, f"{server}/book/13_pretrain_finetune.html")
    try:
        root = page.locator(SWITCHERS["book/13_pretrain_finetune"])
        assert root.count() == 1
        sliders = root.locator("input[type=range][data-knob]")
        knobs = [sliders.nth(i).get_attribute("data-knob") for i in range(sliders.count())]
        assert knobs == list(plan), knobs
        lefts, widths = [], []
        for i, knob in enumerate(knobs):
            s = sliders.nth(i)
            assert s.get_attribute("data-values").split(",") == [f"{v:g}" for v in plan[knob]], knob
            assert plan[knob][int(s.input_value())] == defaults[knob], knob  # starts at the paper's value
            box = s.bounding_box()
            lefts.append(box["x"])
            widths.append(box["width"])
        queued = 0
        for i, knob in enumerate(knobs):
            s = sliders.nth(i)
            before_img, before_text = None, None
            for j, value in enumerate(plan[knob]):
                s.evaluate(f"(el) => {{ el.value = {j}; el.dispatchEvent(new Event('input')); }}")
                state = f"{knob}={value:g}"
                assert root.get_attribute("data-current") == state
                assert s.locator("xpath=following-sibling::output").inner_text() == f"{value:g}"
                img = root.locator("img[data-state]:visible")
                text = root.locator("p[data-readout]:visible")
                assert img.count() == 1 and img.first.get_attribute("data-state") == state, state
                assert text.count() == 1 and text.first.get_attribute("data-state") == state, state
                src, words = img.first.evaluate("(el) => el.src.length + ':' + el.src.slice(-200)"), text.first.inner_text()
                assert words.startswith(f"{s.get_attribute('aria-label')} = {value:g}:"), words
                queued += SWEEP_QUEUED in words.split(". The paper's point")[0]
                assert src != before_img and words != before_text, f"{state}: the figure or the readout did not change"
                before_img, before_text = src, words
                for k in range(len(knobs)):  # the other sliders are back at the paper's point
                    if k != i:
                        other = sliders.nth(k)
                        assert other.input_value() == other.get_attribute("data-default"), (state, knobs[k])
                        assert float(other.locator("xpath=following-sibling::output").inner_text()) == defaults[knobs[k]]
                lefts.append(s.bounding_box()["x"])  # the tracks stay put while the readouts change
        assert max(lefts) - min(lefts) <= 1, f"the slider tracks start at different x: {lefts}"
        assert max(widths) - min(widths) <= 1, f"the slider tracks have different widths: {widths}"
        assert "needs a live Python kernel" in page.locator("article").inner_text()  # the button's note
        print(f"chapter 13: {sum(len(v) for v in plan.values())} states, {queued} of them queued")
    finally:
        context.close()


@pytest.mark.skipif("book/07_mutual_information" not in toc_pages(), reason="chapter 7 is not in this table of contents")
def test_ch07_slider_track_stays_put_when_its_readout_changes(server, browser):
    """Issue 24: the readout of the negatives slider ("1" ... "1023") has a fixed width, so its track does not
    move (the row sits in a centred figure) when the value's text grows or shrinks."""
    context, page = _open(browser, f"{server}/book/07_mutual_information.html")
    try:
        slider = page.locator(SWITCHERS["book/07_mutual_information"] + " input[type=range]")
        assert slider.count() == 1
        boxes = {"start": slider.bounding_box()}
        for end in ("min", "max", "min"):
            _set_slider(slider, end)
            readout = page.locator(SWITCHERS["book/07_mutual_information"] + " output").inner_text()
            boxes[f"{end} ({readout})"] = slider.bounding_box()
        xs = [b["x"] for b in boxes.values()]
        assert max(xs) - min(xs) <= 0.5, f"the track moved with its readout: {boxes}"
    finally:
        context.close()


def test_no_link_to_an_empty_general_index():
    """Issue 24: the book has no index entries, so no genindex page is built (``html_use_index: false``) and no
    page links to one."""
    _need((HTML / "index.html").exists(), f"no built site in {HTML} (bash scripts/test_book.sh)")
    assert not (HTML / "genindex.html").exists(), "genindex.html is built (an empty index page)"
    pages = [HTML / f"{p}.html" for p in toc_pages() + ["search", "index"]]  # (not stale pages of an older build)
    linking = [str(p.relative_to(HTML)) for p in pages if p.exists() and "genindex" in p.read_text(encoding="utf-8")]
    assert not linking, f"pages that link to genindex: {linking}"


# TeX source in plain text: \( \) \[ \] delimiters, a $...$ pair holding a command, or a TeX command itself
RAW_TEX = re.compile(r"\\[()\[\]]|\$[^$]*\\[a-zA-Z]+[^$]*\$|\\(?:log|frac|lambda|mathbb|mathrm|le|ge|sum|top|exp|cdot)(?![a-zA-Z])")


def test_raw_tex_pattern_catches_tex():
    for tex in (r"caps it at \(\log(K + 1)\)", r"caps it at $\log(K + 1)$", r"\[ I(X; Y) \]", r"weight \lambda"):
        assert RAW_TEX.search(tex), tex
    for text in ("caps it at log(K + 1)", "λ_AAP = 0.2", "costs $5 and $6"):
        assert not RAW_TEX.search(text), text


@pytest.mark.parametrize("query", ["InfoNCE", "log"])
def test_search_snippets_show_no_raw_tex(query, server, browser):
    """Issue 24: search results show each page's snippet with its formulas as text (``book/_static/s3rec_search.js``),
    not as TeX source ("\\(\\log(K + 1)\\)")."""
    context, page = _open(browser, f"{server}/search.html?q={query}")
    try:
        page.wait_for_function("() => /Search finished/.test(document.body.innerText)", timeout=60_000)
        page.wait_for_load_state("networkidle", timeout=60_000)
        page.wait_for_timeout(500)
        results = page.locator("#search-results li").count()
        snippets = page.locator("#search-results p.context").all_inner_texts()
        assert results > 0 and len(snippets) > 0, f"no search results for {query!r}"
        raw = [s for s in snippets if RAW_TEX.search(s)]
        assert not raw, f"{len(raw)} of {len(snippets)} snippets show raw TeX: {raw[:3]}"
        assert page.evaluate(r"() => S3RecSearch.texToText('\\(\\log(K + 1)\\)')") == "log(K + 1)"
    finally:
        context.close()


def test_no_solution_or_hidden_test_anywhere_in_the_site():
    """Pages, the sources offered for download, the search index: no master assignment leaks."""
    _need((HTML / "index.html").exists(), f"no built site in {HTML} (bash scripts/test_book.sh)")
    hits = files_with_markers(HTML)
    assert not hits, hits


# ------------------------------------------------------------------------------------------------
# Each check can fail: synthetic pages, one planted defect each
# ------------------------------------------------------------------------------------------------
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
LONG = "x" * 400
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title>
<style>body {{ margin: 0; }} .bd-article {{ max-width: 600px; margin-left: 100px; }}
.cell_output pre, div.highlight pre, .pst-scrollable-table-container {{ overflow-x: auto; }}
td, th {{ padding: 2px 8px; }} mjx-container[display] {{ display: block; overflow-x: auto; }}</style></head>
<body><main><article class="bd-article">
<p>A clean paragraph.</p>
<div class="cell"><div class="cell_input"><div class="highlight"><pre>code = "{long}"  # may scroll</pre></div></div>
<div class="cell_output"><div class="output"><pre>a short printed line</pre></div></div></div>
<div class="pst-scrollable-table-container"><table><tr><td>a</td><td>small</td><td>table</td></tr></table></div>
<figure><img src="{pixel}" alt="A one-pixel figure that stands for a real one." width="200">
<figcaption>Fig. 1: a caption under its figure.</figcaption></figure>
<div class="cell"><div class="cell_input"><pre>plt.plot(x)</pre></div><div class="cell_output">
<img src="{pixel}" alt="A figure a cell drew." width="100"></div></div>
<p><em>Figure: the figure the cell above drew.</em></p>
<mjx-container display="true"><span style="display: inline-block; width: 900px">a wide equation that scrolls</span></mjx-container>
{planted}
</article></main></body></html>"""
DEFECTS = {
    # name: (planted HTML, the Report field that must catch it)
    "console.error": ("<script>console.error('planted error')</script>", "console_errors"),
    "js exception": ("<script>null.planted()</script>", "console_errors"),
    "wide printed output (scrolls)": (
        f'<div class="cell"><div class="cell_output"><div class="output"><pre>{LONG}</pre></div></div></div>',
        "overflow"),
    "wide printed output (spills out)": (
        f'<div class="cell"><div class="cell_output"><div class="output" style="overflow: visible">'
        f'<pre style="overflow: visible">{LONG}</pre></div></div></div>', "overflow"),
    "wide output image": (
        f'<div class="cell_output"><img src="{PIXEL}" alt="a wide image" style="width: 900px; max-width: none"></div>',
        "overflow"),
    "wide table": (
        '<div class="pst-scrollable-table-container"><table><tr>' + "<td>col_name_0123456789</td>" * 40
        + "</tr></table></div>", "overflow"),
    "wide table in an output": (
        '<div class="cell_output"><div class="output text_html"><table><tr>'
        + "<td>col_name_0123456789</td>" * 40 + "</tr></table></div></div>", "overflow"),
    "nbval marker": ('<div class="cell_input"><div class="highlight"><pre># NBVAL_CHECK_OUTPUT\nx = 1</pre></div></div>',
                     "nbval"),
    "solution marker, collapsed": (
        "<details><summary>Show code</summary><pre>### BEGIN SOLUTION\nreturn 1</pre></details>", "leaks"),
    "hidden tests marker": ("<div class='cell_input'><pre>### BEGIN HIDDEN TESTS</pre></div>", "leaks"),
    "img without alt": (f'<img src="{PIXEL}">', "missing_alt"),
    "img with empty alt": (f'<img src="{PIXEL}" alt=" ">', "missing_alt"),
    "img with a file name for alt": (f'<img src="{PIXEL}" alt="../_images/abc123.png">', "missing_alt"),
    "broken img": ('<img src="missing.png" alt="a figure that is not there">', "broken_images"),
    "CDN request": ('<img src="https://cdn.example.org/x.png" alt="from a CDN">', "blocked"),
    "output table cells 1px apart": (
        '<div class="cell_output"><table class="dataframe"><tr><td style="padding: 1px">NVIDIA H200</td>'
        '<td style="padding: 1px">0.1278</td></tr></table></div>', "cramped_cells"),
    "display equation cut at the edge": (
        '<mjx-container display="true" style="overflow: hidden"><span style="display: inline-block; width: 900px">'
        'a wide equation</span></mjx-container>', "wide_math"),
    "display equation spilling out": (
        '<div style="width: 300px"><mjx-container display="true" style="display: inline-block; overflow: visible">'
        '<span style="display: inline-block; width: 500px">a wide equation</span></mjx-container></div>', "wide_math"),
    "caption without a figure": ('<figure><figcaption>Fig. 2: nothing above me.</figcaption></figure>',
                                 "empty_figures"),
    "caption after a code cell that drew nothing": (
        '<div class="cell"><div class="cell_input"><pre>plt.plot(x)</pre></div></div>'
        '<p><em>Figure: what the cell would draw.</em></p>', "empty_figures"),
    "page scrolls sideways on a phone": ('<div style="width: 500px; height: 4px"></div>', "phone_scroll"),
}


def test_checks_catch_planted_defects(browser, tmp_path):
    (tmp_path / "clean.html").write_text(PAGE.format(long=LONG, pixel=PIXEL, planted=""), encoding="utf-8")
    for i, (planted, _) in enumerate(DEFECTS.values()):
        (tmp_path / f"d{i}.html").write_text(PAGE.format(long=LONG, pixel=PIXEL, planted=planted), encoding="utf-8")
    with serve(tmp_path) as url:
        clean = inspect_page(browser, f"{url}/clean.html")
        assert clean.problems() == {}, clean.problems()  # a long line of code may scroll: not a defect
        assert clean.loaded_images == 2  # the figure and the cell's output
        missed = {}
        for i, (name, (_, expected)) in enumerate(DEFECTS.items()):
            found = inspect_page(browser, f"{url}/d{i}.html").problems()
            if expected not in found:
                missed[name] = found
        assert not missed, f"planted defects the checks did not catch: {missed}"


def test_marker_scan_catches_a_leak_in_any_file(tmp_path):
    (tmp_path / "_sources" / "book").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<p>fine</p>")
    (tmp_path / "logo.png").write_bytes(bytes(range(256)))
    assert files_with_markers(tmp_path) == []
    (tmp_path / "_sources" / "book" / "a1.ipynb").write_text('{"source": "### BEGIN HIDDEN TESTS"}')
    assert files_with_markers(tmp_path) == [f"{Path('_sources/book/a1.ipynb')}: BEGIN HIDDEN TESTS"]
