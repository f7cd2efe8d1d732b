"""The built book, as a reader meets it: every page in headless Chromium.

Runs after the smoke book is built (``make test`` builds it first, into
``_build/test/_build/html``; set ``XINPAINT_BOOK_HTML`` to check another build).
Skipped, with the reason, where Chromium, ChromeDriver or selenium is missing;
``.ci/run`` installs them so that CI always runs it.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.browser.sitecheck import browser_available, check_site
from xinpaint import harness

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("XINPAINT_BOOK_HTML", ROOT / "_build" / "test" / "_build" / "html"))

pytestmark = [
    pytest.mark.skipif(not browser_available(),
                       reason="no browser: install Debian's chromium and chromium-driver "
                              "(apt-get install chromium chromium-driver) and selenium"),
    pytest.mark.skipif(not (SITE / "index.html").exists(),
                       reason=f"no built book at {SITE}: run `make test` (it builds the smoke "
                              "book before this test) or set XINPAINT_BOOK_HTML"),
]


def test_every_page_loads_with_images_links_and_search(tmp_path):
    pages, problems = check_site(SITE, search_word="biharmonic", tmp_dir=tmp_path)
    assert problems == []
    expected = {f"{entry}.html" for entry in harness.toc_files(ROOT)}
    assert expected <= set(pages), f"pages missing from the sidebar: {expected - set(pages)}"


def test_a_broken_image_is_reported(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    img = re.compile(r'(<img[^>]*\ssrc=")([^"]+)(")')
    for page in sorted((site / "book").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        if img.search(html):
            break
    else:  # no figure in this build: add one to the first chapter, pointing nowhere
        page = site / "book" / "intro.html"
        html = page.read_text(encoding="utf-8").replace(
            "<h1>", '<img src="../_images/figure.png" alt="a figure"><h1>', 1)
    page.write_text(img.sub(r"\1../_images/missing-figure.png\3", html, count=1), encoding="utf-8")

    _, problems = check_site(site, tmp_dir=tmp_path)
    assert any(p.startswith(f"book/{page.name}: image not loaded: ") and "missing-figure.png" in p
               for p in problems), problems
