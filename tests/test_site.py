"""A real browser on the built site (``_build/html``), offline.

Serves ``_build/html`` on 127.0.0.1, blocks every request to any other host, and visits every page of the
table of contents with Chromium (Debian's ``/usr/bin/chromium``; ``scripts/install_browser.sh``), checking:
figures loaded (``img`` complete with a natural width), no console errors except the two this theme always
logs, no failed request and no HTTP status >= 400, math typeset by the vendored MathJax, and the widgets
drawn on pages that carry widget state. Writes a full-page screenshot of each page to ``_build/screenshots/``.

Skipped when Chromium or the built site is missing (build it with ``bash scripts/test_book.sh``).
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("S3REC_BOOK_BUILD", ROOT / "_build"))  # the folder jupyter-book wrote (its _build)
HTML = BUILD / "html"
SHOTS = BUILD / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Logged on every page by sphinx-book-theme 1.3 / pydata-sphinx-theme, with or without our content.
ALLOWED_CONSOLE_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")
# Chapters of this helper's part of the book that must show at least one figure.
MUST_HAVE_FIGURES = ("book/01_welcome", "book/02_data_and_evaluation", "book/03_mutual_information",
                     "book/10_pretrain_finetune")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (bash scripts/install_browser.sh)"),
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="no _build/html (bash scripts/test_book.sh)"),
]


def toc_pages() -> list[str]:
    """Every page of _toc.yml, as a path without suffix (``book/01_welcome``)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                pages.append(e["file"])
            walk(e.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


@pytest.mark.parametrize("page_path", toc_pages())
def test_page(page_path, server, browser):
    html_file = HTML / f"{page_path}.html"
    assert html_file.exists(), f"{html_file} was not built"
    source = html_file.read_text(encoding="utf-8")
    has_widgets = "application/vnd.jupyter.widget-state+json" in source
    has_math = 'class="math' in source or "\\(" in source

    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    blocked, failed, bad_status, console_errors = [], [], [], []
    host = urlparse(server).netloc

    def route(r):
        if urlparse(r.request.url).netloc == host:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: failed.append(f"{req.url} ({req.failure})"))
    page.on("response", lambda resp: resp.status >= 400 and bad_status.append(f"{resp.status} {resp.url}"))
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.on("pageerror", lambda exc: console_errors.append(f"pageerror: {exc}"))

    page.goto(f"{server}/{page_path}.html", wait_until="load", timeout=60_000)
    if has_widgets:
        page.wait_for_selector(".widget-slider", timeout=60_000)
    if has_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
        page.evaluate("() => MathJax.startup.promise")
    page.wait_for_load_state("networkidle", timeout=60_000)

    images = page.evaluate(
        "() => Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}))"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (page_path.replace("/", "__") + ".png")), full_page=True)
    math_nodes = page.locator("mjx-container").count()
    sliders = page.locator(".widget-slider").count()
    context.close()

    assert not blocked, f"requests to other hosts (a CDN?): {blocked}"
    assert not failed, f"failed requests: {failed}"
    assert not bad_status, f"HTTP errors: {bad_status}"
    unexpected = [e for e in console_errors if not any(a in e for a in ALLOWED_CONSOLE_ERRORS)]
    assert not unexpected, f"console errors: {unexpected}"
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"images that did not load: {broken}"
    if page_path in MUST_HAVE_FIGURES:
        assert any(i["ok"] for i in images), "this chapter should show at least one figure"
    if has_math:
        assert math_nodes > 0, "the page has math but MathJax typeset nothing"
    if has_widgets:
        assert sliders > 0, "the page has widget state but no slider was drawn"
