"""The published asv site works with no internet: scripts/publish-site.sh
publishes it with local copies of its libraries; headless Chromium, with every
request off localhost refused, opens the index and, for every machine with
results, one benchmark's graph, and finds plotted points, no failed request and
no console error. Run on the committed results and on them plus a second,
synthetic machine's, and once with a vendored file altered (Chromium refuses it:
its pinned integrity hash no longer matches).

One commit range measured with two nvmath-python releases (two environments differing only in
that release, scripts/asv-offline.sh --wheels) is two lines on a case's chart, one per release.

And the site reads without a manual (`fusion-kernels site guide`, docs/site.md): the
front page's five fused/unfused charts open on the H200 and plot positive points;
the grid's resident-memory and cold-device-time charts are not flat at 0, and
every grid summary is asv's own where no case is 0; the Regressions page lists
what regressions.json gives; error.html says how to serve the site."""

import contextlib
import functools
import json
import math
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import release_results

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The probe's flags: without the background-networking ones Chromium keeps
# trying Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PREFERRED = "bench_matmul.MatmulBiasReLU.track_device_seconds"
SECOND_MACHINE = "synthetic-h200"

pytestmark = pytest.mark.browser


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _needs_browser():
    if not (os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"browser: no Chromium at {CHROMIUM} (Debian package 'chromium')")
    pytest.importorskip("playwright.sync_api", reason="browser: Python package 'playwright' is not installed")
    if not shutil.which("npm") and not (ROOT / ".asv" / "vendor-cache").is_dir():
        pytest.skip("browser: no npm to fetch the site's libraries, and no .asv/vendor-cache/")


def _publish(html, *args):
    # The interpreter running the tests is the `python` publish-site.sh finds.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    r = subprocess.run(["bash", "scripts/publish-site.sh", "--html-dir", str(html), *args], cwd=ROOT,
                       env=dict(os.environ, PATH=path), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return html


@contextlib.contextmanager
def _serve(html):
    """The base URL of `html` served on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def committed_html(tmp_path_factory):
    """The site of the committed results (results, every machine there)."""
    _needs_browser()
    return _publish(tmp_path_factory.mktemp("site") / "html")


@pytest.fixture(scope="module")
def two_machine_html(tmp_path_factory):
    """The site of the committed results plus a second machine's: the newest
    H100 result file under another machine name, with the machine.json and
    result params that `asv machine --yes` and `asv run` write (os, arch, cpu,
    ...), which the committed machine's results lack."""
    _needs_browser()
    from asv.util import load_json

    tmp = tmp_path_factory.mktemp("two-machines")
    results = tmp / "results"
    shutil.copytree(ROOT / "results", results)
    source = max((ROOT / "results" / "h100-80gb-hbm3").glob("*-*.json"),
                 key=lambda f: json.loads(f.read_text())["date"])
    machine = {"arch": "x86_64", "cpu": "Intel(R) Xeon(R) Platinum 8480+", "machine": SECOND_MACHINE,
               "num_cpu": "16", "os": "Linux 6.8.0-synthetic", "ram": "131072000"}
    (results / SECOND_MACHINE).mkdir()
    (results / SECOND_MACHINE / "machine.json").write_text(json.dumps({**machine, "version": 1}))
    result = json.loads(source.read_text())
    result["params"] = {**machine, "python": result["params"]["python"]}
    (results / SECOND_MACHINE / source.name).write_text(json.dumps(result))

    conf = load_json(ROOT / "asv.conf.json", js_comments=True)
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), results_dir=str(results),
                html_dir=str(tmp / "html"), env_dir=str(tmp / "env"))
    (tmp / "asv.conf.json").write_text(json.dumps(conf))
    return _publish(tmp / "html", "--config", str(tmp / "asv.conf.json"))


@pytest.fixture(scope="module")
def two_release_html(tmp_path_factory):
    """The site of the committed results plus the H200's again as measured with nvmath-python 0.9.0:
    two environments of one machine that differ only by the release (tests/release_results.py)."""
    _needs_browser()
    tmp = tmp_path_factory.mktemp("two-releases")
    return _publish(tmp / "html", "--config", str(release_results.with_release(tmp, "0.9.0")))


@pytest.fixture(scope="module", params=["committed", "second-machine", "two-releases"])
def site(request):
    """(base URL, html dir) of a published site, served on 127.0.0.1."""
    html = request.getfixturevalue({"committed": "committed_html", "second-machine": "two_machine_html",
                                    "two-releases": "two_release_html"}[request.param])
    with _serve(html) as base:
        yield base, html


def _graphs_with_data(html):
    """For every machine, (graph params, benchmark, revisions with a value, the
    file's site path) of one graph file that has a non-null value, wherever asv
    put it: its path holds every parameter (branch, machine, python and what the
    machine file adds), sorted, so no fixed glob finds every machine's."""
    from asv.graph import Graph

    index = json.loads((html / "index.json").read_text())
    names = [PREFERRED] + sorted(index["benchmarks"])
    found = {}
    for params in index["graph_param_list"]:
        if params["machine"] in found:
            continue
        for name in names:
            path = f"{Graph.get_file_path(params, name)}.json"
            f = html / path
            if not f.is_file():
                continue  # asv lists every parameter set, not which benchmarks each has
            revisions = [rev for rev, ys in json.loads(f.read_text())
                         if any(v is not None for v in (ys if isinstance(ys, list) else [ys]))]
            if revisions:
                found[params["machine"]] = (params, name, len(revisions), Path(path).as_posix())
                break
    missing = set(index["machines"]) - set(found)
    assert not missing, f"machines with no non-null result to plot: {sorted(missing)}"
    return list(found.values())


def _graph_url(base, params, bench):
    """The graph of `bench` for exactly `params`: with several machines asv
    otherwise requests every machine's graph, and 404s for one that lacks it."""
    query = "&".join(f"{quote(k, safe='')}={quote('[none]' if v is None else str(v), safe='')}"
                     for k, v in params.items())
    return f"{base}index.html#{bench}?{query}"


def _open(browser, external, errors):
    """A page that refuses requests off localhost and records what went wrong."""
    def only_localhost(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.route("**/*", only_localhost)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    return page


def test_site_works_offline(site):
    from playwright.sync_api import sync_playwright

    base, html = site
    graphs = _graphs_with_data(html)
    external, errors, plotted = [], [], {}
    # flot keeps its plot on the placeholder: count the points it drew.
    count_points = """() => { const p = $('#main-graph').data('plot');
        return p ? p.getData().reduce((n, s) => n + s.data.filter(
            xy => xy && xy[1] !== null && isFinite(xy[1])).length, 0) : -1; }"""

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = _open(browser, external, errors)
            page.goto(base + "index.html", wait_until="networkidle")
            assert not page.url.endswith("error.html"), f"a library failed to load: {external} {errors}"
            page.wait_for_function("() => window.$ && $.asv && $.asv.main_json.benchmarks", timeout=10_000)

            for params, bench, revisions, path in graphs:
                # A fresh page each: a hash change alone would leave the last plot in place.
                graph_page = _open(browser, external, errors)
                requested = []
                graph_page.on("request", lambda r: "/graphs/" in r.url and requested.append(
                    unquote(urlsplit(r.url).path).lstrip("/")))
                graph_page.goto(_graph_url(base, params, bench), wait_until="networkidle")
                graph_page.wait_for_function("() => $('#main-graph').data('plot')", timeout=10_000)
                machine = params["machine"]
                plotted[machine] = (bench, revisions, graph_page.evaluate(count_points))
                assert graph_page.locator("#main-graph canvas.flot-base").count() == 1
                assert set(requested) == {path}, f"{machine}: {bench}: requested {requested}"
                graph_page.screenshot(path=str(html.parent / f"graph-{machine}.png"))
                graph_page.close()

            # The tables sort with stupidtable (a newer version than asv's CDN one).
            for view in ("/summarylist", "/regressions"):
                page.goto(f"{base}index.html#{view}", wait_until="networkidle")
                page.locator("th[data-sort]:visible").first.click(timeout=10_000)
        finally:
            browser.close()

    for machine, (bench, revisions, points) in plotted.items():
        assert points >= min(2, revisions), f"{machine}: {bench}: the graph shows {points} points"
    assert not external, f"requests off localhost: {external}"
    assert not errors, f"console errors or failed requests: {errors}"


def test_two_releases_are_two_lines(two_release_html):
    """One case's chart on the H200 (machine pinned, one strategy, shape and dtype): one line per
    nvmath-python release, each labelled with it, each through the same commits."""
    from playwright.sync_api import sync_playwright

    html = two_release_html
    bench = "bench_fftconv.FFTConv.track_cold_device_seconds"
    frag = f"#{bench}?machine={STORY_MACHINE}&p-strategy='fused_planned'&p-shape='16384x4096'&p-dtype='complex64'"
    external, errors = [], []
    with _serve(html) as base, sync_playwright() as p:
        browser = _browser(p)
        try:
            page = _open(browser, external, errors)
            page.goto(base + "index.html" + frag, wait_until="networkidle")
            page.wait_for_function("() => $('#main-graph').data('plot')", timeout=10_000)
            series = page.evaluate(PLOTTED, page.locator("#main-graph").element_handle())
        finally:
            browser.close()
    releases = sorted(label for label, _ in series)
    assert len(series) == 2, series
    assert "nvmath-python-0.9.0" in releases[0] and "nvmath-python-1.0.0" in releases[1], releases
    (_, first), (_, second) = series
    assert first and sorted(first) == sorted(second)  # the same figures, drawn twice: one line per release
    assert not external, f"requests off localhost: {external}"
    assert not errors, f"console errors or failed requests: {errors}"


def test_altered_vendored_file_is_refused(committed_html, tmp_path):
    """The integrity hash publish-site.sh pins works on a same-origin file
    without crossorigin: Chromium refuses flot once a byte changes, and asv
    falls back to its error page."""
    from playwright.sync_api import sync_playwright

    html = tmp_path / "html"
    shutil.copytree(committed_html, html)
    with open(html / "vendor" / "flot@0.8.3" / "jquery.flot.js", "ab") as f:
        f.write(b"\n")
    external, errors = [], []
    with _serve(html) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = _open(browser, external, errors)
            page.goto(base + "index.html")
            page.wait_for_url("**/error.html", timeout=10_000)
        finally:
            browser.close()
    assert any("integrity" in e and "jquery.flot.js" in e for e in errors), errors
    assert not external, f"requests off localhost: {external}"


# ---- a site that reads without a manual (`fusion-kernels site guide`, docs/site.md) ----

STORY_MACHINE = "h200"
WORKLOADS = ["bench_matmul.MatmulBiasReLU", "bench_fftconv.FFTConv", "bench_fftconv.FFTConvSharedFilter",
             "bench_fftconv.RFFTConv", "bench_fftconv.FFTConv2D"]
# The data of each series flot drew: [[label, [[x, y], ...]], ...].
PLOTTED = """(el) => { const p = $(el).data('plot');
    return p ? p.getData().map(s => [s.label || '', s.data.map(xy => [xy[0], xy[1]])]) : null; }"""


def _front_page_links(html):
    """{class: [(machine, fragment)]} of the links in the front page's start-here note."""
    import html as htmllib
    import re

    text = (html / "index.html").read_text()
    links = {}
    for cls, machine, href in re.findall(r'<a class="(fk-[a-z-]+)" data-machine="([^"]+)" href="([^"]+)"', text):
        links.setdefault(cls, []).append((htmllib.unescape(machine), htmllib.unescape(href)))
    return links


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def test_the_five_story_charts_plot_nonzero_points(committed_html):
    """The front page links fused/unfused of the five workloads on the H200 (the same fragments as
    docs/site.md); each opens that machine's chart at the largest shape, without fused_onecall, and
    plots positive points on every line; each device-time link opens on a log scale."""
    from playwright.sync_api import sync_playwright

    html = committed_html
    links = _front_page_links(html)
    story = [frag for machine, frag in links.get("fk-story", []) if machine == STORY_MACHINE]
    assert [f.split("?")[0] for f in story] == [f"#{w}.track_ratio_to_unfused" for w in WORKLOADS], story
    device = [frag for machine, frag in links.get("fk-device-time", []) if machine == STORY_MACHINE]
    assert len(device) == len(WORKLOADS) and all("y-axis-scale=log" in f for f in device), device
    docs = (ROOT / "docs" / "site.md").read_text()
    assert all(frag in docs for frag in story), "docs/site.md lists other fragments than the front page"

    index = json.loads((html / "index.json").read_text())
    external, errors, seen = [], [], {}
    with _serve(html) as base, sync_playwright() as p:
        browser = _browser(p)
        try:
            for frag in story + device:
                bench = frag[1:].split("?")[0]
                shapes = index["benchmarks"][bench]["params"][1]
                page = _open(browser, external, errors)
                requested = []
                page.on("request", lambda r: "/graphs/" in r.url and requested.append(unquote(urlsplit(r.url).path)))
                page.goto(base + "index.html" + frag, wait_until="networkidle")
                page.wait_for_function("() => $('#main-graph').data('plot')", timeout=10_000)
                series = page.evaluate(PLOTTED, page.locator("#main-graph").element_handle())
                log_scale = page.locator("#log-scale.active").count() == 1
                page.close()
                seen[frag] = series
                assert requested and all(f"/machine-{STORY_MACHINE}/" in r for r in requested), (frag, requested)
                assert series, f"{frag}: nothing plotted"
                for label, data in series:
                    ys = [y for _, y in data if y is not None]
                    assert ys and all(math.isfinite(y) and y > 0 for y in ys), f"{frag}: {label}: {data}"
                    assert f"shape-{shapes[-1].strip(chr(39))}" in label, f"{frag}: {label} is not the largest shape"
                if "track_ratio_to_unfused" in frag:
                    labels = [label for label, _ in series]
                    assert not any("fused_onecall" in label for label in labels), labels
                    assert any(label.endswith("strategy-unfused") for label in labels), labels
                    assert len(series) >= 3, labels  # unfused and at least two fused strategies
                else:
                    assert log_scale, f"{frag}: not on a log scale"
        finally:
            browser.close()
    assert not external, f"requests off localhost: {external}"
    assert not errors, f"console errors or failed requests: {errors}"


def _summary_benchmarks(index):
    return [name for name in sorted(index["benchmarks"])
            if name.rsplit(".", 1)[-1] in ("track_resident_device_bytes", "track_cold_device_seconds")]


def test_grid_summaries_are_not_flat_at_zero(committed_html):
    """The grid's charts of resident memory and cold device time, for every workload: the data they
    are drawn from (graphs/summary/<benchmark>.json, as flot holds it on the page) is positive at every
    commit. asv's own geometric mean was 0 for resident memory, where unfused holds nothing."""
    from playwright.sync_api import sync_playwright

    html = committed_html
    index = json.loads((html / "index.json").read_text())
    names = _summary_benchmarks(index)
    assert len(names) >= 2 * len(WORKLOADS), names
    for name in names:
        data = json.loads((html / "graphs" / "summary" / f"{name}.json").read_text())
        assert data and all(y is not None and y > 0 for _, y in data), f"{name}: {data}"

    external, errors, drawn = [], [], {}
    with _serve(html) as base, sync_playwright() as p:
        browser = _browser(p)
        try:
            page = _open(browser, external, errors)
            page.goto(base + "index.html", wait_until="networkidle")
            page.wait_for_function("() => window.$ && $.asv && $.asv.main_json.benchmarks", timeout=10_000)
            assert page.locator("#fk-start-here").is_visible()
            for name in names:
                # The grid plots a chart when it scrolls into view.
                page.evaluate("(id) => { document.getElementById(id).scrollIntoView(); $(window).trigger('scroll'); }",
                              f"summarygrid-{name}")
                handle = page.wait_for_function(
                    "(id) => { const p = $(document.getElementById(id)).data('plot');"
                    " return p && p.getData().length; }",
                    arg=f"summarygrid-{name}", timeout=10_000)
                handle.dispose()
                el = page.evaluate_handle("(id) => document.getElementById(id)", f"summarygrid-{name}")
                drawn[name] = page.evaluate(PLOTTED, el)
        finally:
            browser.close()
    for name, series in drawn.items():
        [(_, data)] = series
        ys = [y for _, y in data]
        assert ys and all(y is not None and y > 0 for y in ys), f"{name}: the grid draws {data}"
    assert not external, f"requests off localhost: {external}"
    assert not errors, f"console errors or failed requests: {errors}"


def test_grid_summaries_are_asvs_but_for_the_zeros(committed_html):
    """Where no case is 0 a summary is asv's own (make_summary_graph on the published graph files);
    where asv's was 0, the memory figures now count a 0 as one 2 MiB page."""
    from asv.graph import make_summary_graph

    from fusion_kernels.harness import site_guide

    html = committed_html
    index = json.loads((html / "index.json").read_text())
    rewritten = []
    for name, meta in sorted(index["benchmarks"].items()):
        files = site_guide.graph_files(html, index, name)
        if not files:
            continue
        graphs = [site_guide.load_graph(name, p, f) for p, f in files]
        asv_points = make_summary_graph(graphs).get_data()
        published = [tuple(point) for point in json.loads((html / "graphs" / "summary" / f"{name}.json").read_text())]
        values = [v for g in graphs for _, vs, _ in g.get_data() for v in (vs if isinstance(vs, list) else [vs])]
        has_zero = 0 in values
        if not has_zero:
            assert published == [(x, y) for x, y, _ in asv_points], name
            continue
        assert meta["unit"] == "bytes", f"{name}: a 0 in a figure that is not in bytes"
        rewritten.append(name)
        ours = site_guide.summary_with_zero_as(name, graphs, site_guide.ZERO_BYTES_AS).get_data()
        assert published == [(x, y) for x, y, _ in ours], name
    # The figures that were flat at 0: every workload's resident memory, and the graph replays' peak.
    assert {f"{w}.track_resident_device_bytes" for w in WORKLOADS} <= set(rewritten), rewritten
    assert "bench_matmul.MatmulBiasReLU.track_peak_device_bytes" in rewritten, rewritten


def test_regressions_page_lists_what_the_data_give(site):
    """The Regressions page lists one row per step in the published regressions.json (one per
    benchmark, parameters and machine, for every jump), and no other."""
    from collections import Counter

    from playwright.sync_api import sync_playwright

    base, html = site
    data = json.loads((html / "regressions.json").read_text())["regressions"]
    expected = Counter((name, params.get("machine")) for name, _, params, _, _, _, jumps in data for _ in (jumps or []))
    rows_js = """() => $('#regressions-body .regression-div:visible > table.table:not(.ignored) > tbody > tr').map(
        (i, tr) => [[$(tr).find('td a').first().text(), $(tr).find('td a').first().attr('href')]]).get()"""
    external, errors = [], []
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = _open(browser, external, errors)
            page.goto(base + "index.html#/regressions", wait_until="networkidle")
            page.wait_for_function("() => $('#regressions-body .regression-div:visible > table.table').length",
                                   timeout=10_000)
            rows = page.evaluate(rows_js)
        finally:
            browser.close()
    listed = Counter()
    for text, href in rows:
        query = [kv.split("=", 1) for kv in href.split("?", 1)[1].split("&")]
        machine = [unquote(v) for k, v in query if k == "machine"]
        listed[(text, machine[0] if machine else None)] += 1
    assert listed == expected, (f"the page lists {sum(listed.values())} rows, "
                                f"regressions.json gives {sum(expected.values())}")
    assert not external, f"requests off localhost: {external}"
    assert not errors, f"console errors or failed requests: {errors}"


def test_error_page_says_how_to_serve_the_site(committed_html):
    text = (committed_html / "error.html").read_text()
    assert "python -m http.server" in text and "python -m asv preview" in text and "file://" in text
