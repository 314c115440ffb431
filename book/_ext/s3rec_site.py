"""Local Sphinx extension of the S3-Rec book (loaded by ``_config.yml``: ``sphinx.local_extensions``).

Three fixes at the root:

1. **Test markers are not shown to readers.** Code cells carry nbval's comment lines (``# NBVAL_CHECK_OUTPUT``,
   ``# NBVAL_SKIP``, ``# NBVAL_IGNORE_OUTPUT``, ...) for ``pytest --nbval-lax``. They stay in the notebooks (so
   nbval, Colab and the download button keep them) and are dropped here from the *rendered* source of each code
   cell, when Sphinx reads the page.
2. **No thebe script when thebe is off.** Jupyter Book always loads ``sphinx_thebe``, which adds an inline
   ``const THEBE_JS_URL = ...`` script (and ``sphinx-thebe.js``) to every page even with
   ``launch_buttons.thebe: false``; the build adds it twice, so every page threw
   ``Identifier 'THEBE_JS_URL' has already been declared``. With thebe off, sphinx-thebe's script hook is
   disconnected and neither script is written.
3. **Search snippets without raw TeX.** The search page gets ``_static/s3rec_search.js`` (from
   ``book/_static/``, listed in ``_config.yml``'s ``html_static_path``), which writes each formula of a fetched
   page as plain text before Sphinx's search cuts its snippet (``\\(\\log(K + 1)\\)`` becomes ``log(K + 1)``).

Besides, ``setup`` sets ``S3REC_SITE_BUILD=1`` for the kernels the build starts: nobody drives them, so the book's
live-only widgets (chapter 13's "Run this point", ``widgets.live_kernel``) show the static note instead.
"""
from __future__ import annotations

import os
import re

from docutils import nodes

# A whole line that is only an nbval marker comment (nbval reads markers from such lines only).
NBVAL_LINE = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*$")


def strip_nbval_lines(text: str) -> str:
    """``text`` without its nbval marker lines; every other line is kept as it is."""
    return "\n".join(line for line in text.split("\n") if not NBVAL_LINE.match(line))


def _is_cell_source(node: nodes.Node) -> bool:
    parent = node.parent
    return isinstance(parent, nodes.container) and (
        parent.get("nb_element") == "cell_code_source" or "cell_input" in parent.get("classes", [])
    )


def hide_nbval_markers(app, doctree: nodes.document) -> None:
    """``doctree-read``: drop the marker lines from every code cell's rendered source."""
    for block in list(doctree.findall(nodes.literal_block)):
        if not _is_cell_source(block):
            continue
        text = block.astext()
        new = strip_nbval_lines(text)
        if new == text:
            continue
        new = new.lstrip("\n")
        block.rawsource = new
        block.children = []
        block += nodes.Text(new)


def drop_thebe_scripts(app) -> None:
    """``builder-inited``: with thebe off, keep sphinx-thebe from adding its scripts to every page."""
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {}) or {}
    if launch.get("thebe") or (app.config["thebe_config"] or {}).get("always_load"):
        return
    for event in ("env-before-read-docs",):
        for listener in list(app.events.listeners.get(event, [])):
            handler = listener.handler
            if getattr(handler, "__module__", "").startswith("sphinx_thebe") and handler.__name__ == "init_thebe_core":
                app.disconnect(listener.id)


SEARCH_SCRIPT = "s3rec_search.js"


def add_search_script(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: the snippet fix on the search page only (after searchtools.js: ``defer``)."""
    if pagename == "search":
        app.add_js_file(SEARCH_SCRIPT, defer="defer")


def setup(app):
    os.environ["S3REC_SITE_BUILD"] = "1"  # inherited by the kernels that execute the chapters
    app.connect("doctree-read", hide_nbval_markers)
    app.connect("html-page-context", add_search_script)
    app.connect("builder-inited", drop_thebe_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
