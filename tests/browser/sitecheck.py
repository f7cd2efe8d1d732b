"""Check a built HTML book the way a reader meets it: in headless Chromium.

Used by ``tests/browser/test_book_in_browser.py``; also runnable by hand::

    python tests/browser/sitecheck.py _build/html
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def browser_available() -> bool:
    """Chromium, ChromeDriver and selenium are all installed."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return bool(CHROMIUM and CHROMEDRIVER)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on a free localhost port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium(user_data_dir: Path):
    """A headless Chromium driven by selenium, with no network beyond localhost."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _local_target(html_dir: Path, page_url: str, href: str, base: str) -> Path | None:
    """The file an internal link points to, or None for an external link."""
    url = urljoin(page_url, href)
    if not url.startswith(base):
        return None
    path = unquote(urlparse(url).path)[len(urlparse(base).path):]
    target = html_dir / path
    return target / "index.html" if target.is_dir() else target


_IMAGES_JS = """
return Array.from(document.images).map(img => ({
  src: img.getAttribute('src'),
  loaded: img.complete && img.naturalWidth > 0,
  alt: (img.getAttribute('alt') || '').trim(),
  caption: !!(img.closest('figure') && img.closest('figure').querySelector('figcaption')),
}));
"""

_LINKS_JS = """
const pick = sel => Array.from(document.querySelectorAll(sel)).map(a => a.getAttribute('href'));
return {sidebar: pick('nav.bd-docs-nav a'), prevnext: pick('.prev-next-area a')};
"""


def check_site(html_dir: str | Path, *, search_word: str | None = None,
               tmp_dir: Path | None = None) -> tuple[list[str], list[str]]:
    """Load every page of the book's sidebar in Chromium and list what a reader would hit.

    Returns ``(pages, problems)``: the pages visited (relative paths) and one line per
    problem (console error, image not loaded or without alt text/caption, sidebar or
    next/previous link leading outside the site's files, search finding nothing).
    """
    import tempfile

    html_dir = Path(html_dir).resolve()
    problems: list[str] = []
    tmp_dir = Path(tmp_dir or tempfile.mkdtemp(prefix="xinpaint-chromium-"))
    with serve(html_dir) as base, chromium(tmp_dir / "profile") as driver:
        driver.get(base + "index.html")
        time.sleep(0.5)
        start = driver.current_url
        links = driver.execute_script(_LINKS_JS)
        pages = [start]
        for href in links["sidebar"]:
            url = urljoin(start, href).split("#")[0]
            if url.startswith(base) and url not in pages:
                pages.append(url)
        for url in pages:
            name = url[len(base):]
            driver.get(url)
            for entry in driver.get_log("browser"):
                # Chromium asks for /favicon.ico on its own (the book declares none): not a
                # resource of the page, and requested only on some loads.
                if "/favicon.ico" in str(entry.get("message")):
                    continue
                if entry.get("level") == "SEVERE":
                    problems.append(f"{name}: console error: {entry.get('message')}")
            for img in driver.execute_script(_IMAGES_JS):
                if not img["loaded"]:
                    problems.append(f"{name}: image not loaded: {img['src']}")
                if not (img["alt"] or img["caption"]):
                    problems.append(f"{name}: image without alt text or caption: {img['src']}")
            found = driver.execute_script(_LINKS_JS)
            for kind in ("sidebar", "prevnext"):
                for href in found[kind]:
                    if href.startswith(("http://", "https://", "mailto:")):
                        problems.append(f"{name}: {kind} link leaves the site: {href}")
                        continue
                    target = _local_target(html_dir, url, href.split("#")[0] or url, base)
                    if target is None or not target.exists():
                        problems.append(f"{name}: {kind} link to a missing page: {href}")
        if search_word:
            driver.get(base + f"search.html?q={search_word}")
            hits = []
            for _ in range(60):
                hits = driver.find_elements("css selector", "#search-results li")
                if hits:
                    break
                time.sleep(0.25)
            if not hits:
                problems.append(f"search.html: no result for {search_word!r}")
    return [p[len(base):] for p in pages], problems


if __name__ == "__main__":
    visited, found = check_site(sys.argv[1], search_word=sys.argv[2] if len(sys.argv) > 2 else None)
    print(f"{len(visited)} pages checked")
    print("\n".join(found) or "no problem")
    sys.exit(1 if found else 0)
