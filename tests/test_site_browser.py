"""The published asv site works with no internet: scripts/publish-site.sh
publishes it with local copies of its libraries; headless Chromium, with every
request off localhost refused, opens the index and one benchmark's graph and
finds plotted points and no console error."""

import functools
import json
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The probe's flags: without the background-networking ones Chromium keeps
# trying Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PREFERRED = "bench_matmul.MatmulBiasReLU.track_device_seconds"

pytestmark = pytest.mark.browser


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, html dir) of the published site, served on 127.0.0.1."""
    if not (os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"browser: no Chromium at {CHROMIUM} (Debian package 'chromium')")
    pytest.importorskip("playwright.sync_api", reason="browser: Python package 'playwright' is not installed")
    if not shutil.which("npm") and not (ROOT / ".asv" / "vendor-cache").is_dir():
        pytest.skip("browser: no npm to fetch the site's libraries, and no .asv/vendor-cache/")
    html = tmp_path_factory.mktemp("site") / "html"
    r = subprocess.run(["bash", "scripts/publish-site.sh", "--html-dir", str(html)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", html
    server.shutdown()
    server.server_close()


def _benchmark_with_data(html):
    """A benchmark whose graph data has a non-null value, and that count."""
    names = json.loads((html / "index.json").read_text())["benchmarks"]
    for name in [PREFERRED] + sorted(names):
        for f in (html / "graphs").glob(f"branch-*/**/{name}.json"):
            values = [v for _, ys in json.loads(f.read_text())
                      for v in (ys if isinstance(ys, list) else [ys]) if v is not None]
            if values:
                return name
    pytest.fail("no benchmark in asv/results has a non-null result to plot")


def test_site_works_offline(site):
    from playwright.sync_api import sync_playwright

    base, html = site
    bench = _benchmark_with_data(html)
    external, errors = [], []

    def only_localhost(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", only_localhost)
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(base + "index.html", wait_until="networkidle")
            assert not page.url.endswith("error.html"), f"a library failed to load: {external} {errors}"
            page.wait_for_function("() => window.$ && $.asv && $.asv.main_json.benchmarks", timeout=10_000)

            page.goto(f"{base}index.html#{bench}", wait_until="networkidle")
            # flot keeps its plot on the placeholder: count the points it drew.
            count_points = """() => { const p = $('#main-graph').data('plot');
                return p ? p.getData().reduce((n, s) => n + s.data.filter(
                    xy => xy && xy[1] !== null && isFinite(xy[1])).length, 0) : -1; }"""
            page.wait_for_function("() => $('#main-graph').data('plot')", timeout=10_000)
            points = page.evaluate(count_points)
            assert page.locator("#main-graph canvas.flot-base").count() == 1
            page.screenshot(path=str(html.parent / "graph.png"))

            # The tables sort with stupidtable (a newer version than asv's CDN one).
            for view in ("/summarylist", "/regressions"):
                page.goto(f"{base}index.html#{view}", wait_until="networkidle")
                page.locator("th[data-sort]:visible").first.click(timeout=10_000)
        finally:
            browser.close()

    assert points >= 2, f"{bench}: the graph shows {points} points"
    assert not external, f"requests off localhost: {external}"
    assert not errors, f"console errors: {errors}"
