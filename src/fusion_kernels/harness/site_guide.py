"""`fusion-kernels site guide`: what the published asv site needs so that it reads without a manual.
Run by scripts/publish-site.sh after `asv publish` (with asv publish's arguments).
Three edits of the published files; asv's JavaScript is left as it is.

1. The Benchmark grid's lines (graphs/summary/<benchmark>.json). asv 0.6.6
   draws each as one value per commit: the geometric mean of every case of the
   benchmark (every parameter combination, on every machine), n/a cases left
   out (asv/graph.py: make_summary_graph, _compute_summary_data_series,
   util.geom_mean_na). A geometric mean with a 0 in it is 0, so a memory
   figure where some case holds nothing (unfused's resident bytes, a graph
   replay's per-call peak) drew a line flat at 0. For the figures in bytes the
   summaries are computed again here, with asv's own functions from the same
   graph files, counting a case at 0 as one 2 MiB page (ZERO_BYTES_AS): the
   driver hands out memory in 2 MiB pages, and the resident and library
   figures, read at the driver, flicker between 0 and one page from run to
   run. Leaving the zeros out instead would let those cases come and go from
   the mean: on the H200's A/A pair that moved FFTConv's resident line by 56%,
   against 1.5% this way. Where no case is 0 the file is identical to asv's.
2. A "start here" note at the top of the grid, linking the charts to read
   first: track_ratio_to_unfused of each workload at its largest shape, for
   each machine with that figure (docs/site.md lists the same links), and the
   workload's cold device time there on a log scale. asv has no per-benchmark
   scale or summary setting; its chart URLs do carry the strategies shown and
   the log scale, so these links leave fused_onecall out or use the log scale.
3. error.html, which asv shows when a library does not load, also says why
   that happens to index.html opened as a file, and how to serve the folder.
"""
from __future__ import annotations

import html
import json
from urllib.parse import quote

from . import files
from .site_vendor import die, published_html_dir

# The workloads whose fused/unfused ratio tells the story, in reading order.
STORY = [
    ("bench_matmul.MatmulBiasReLU", "ReLU(A @ B + bias)"),
    ("bench_fftconv.FFTConv", "FFT convolution"),
    ("bench_fftconv.FFTConvSharedFilter", "FFT convolution, one filter for the batch"),
    ("bench_fftconv.RFFTConv", "FFT convolution, real signals"),
    ("bench_fftconv.FFTConv2D", "2-D FFT convolution"),
]
FIGURE = "track_ratio_to_unfused"
DEVICE_TIME = "track_cold_device_seconds"
# Left out of the story links: it plans inside every call (10-22 ms of device time where the others
# take 10 us - 2 ms) and would flatten the other lines; one click in the strategy panel adds it back.
ONE_CALL = "'fused_onecall'"
NOTE_ID = "fk-start-here"
# What a case at 0 bytes counts as in a grid summary: one page of the driver's (see the docstring).
ZERO_BYTES_AS = 2 * 1024 * 1024
FILE_HINT_ID = "fk-file-hint"


def js_quote(s):
    """encodeURIComponent, which asv's format_hash_string uses: the same fragments asv writes."""
    return quote(str(s), safe="-_.!~*'()")


def fragment(bench, params):
    """asv's URL fragment for `bench` with `params` ([(key, value)], repeated keys allowed)."""
    return f"#{bench}?" + "&".join(f"{js_quote(k)}={js_quote(v)}" for k, v in params)


def graph_files(html_dir, index, name):
    """[(graph params, path)] of every graph file of benchmark `name` (one per parameter set of
    graph_param_list that has it: the graphs asv's summary combined)."""
    from asv.graph import Graph

    out = []
    for params in index["graph_param_list"]:
        path = html_dir / (Graph.get_file_path(params, name) + ".json")
        if path.is_file():
            out.append((params, path))
    return out


# ---- 1. summaries ----

def summary_with_zero_as(name, graphs, zero_as):
    """asv's summary graph of `graphs` (asv Graph objects of one benchmark), each value of 0 counted
    as `zero_as` in each commit's geometric mean; otherwise asv's, point for point."""
    from asv import graph as asv_graph

    x, ys = asv_graph._combine_graph_data(graphs)
    ys = [[zero_as if v == 0 else v for v in y] for y in ys]
    values = asv_graph._compute_summary_data_series(*ys)  # n/a gaps filled and left out as asv does
    summary = asv_graph.Graph(name, {"summary": ""})
    for rev, value in asv_graph.resample_data(list(zip(x, values))):
        summary.add_data_point(rev, value)
    return summary


def load_graph(name, params, path):
    """An asv Graph holding the points of a published graph file (the values asv summarised)."""
    from asv.graph import Graph

    graph = Graph(name, params)
    for rev, value in json.loads(path.read_text()):
        graph.add_data_point(rev, value)
    return graph


def rewrite_summaries(html_dir, index):
    """Rewrite graphs/summary/*.json of the figures in bytes; the names of those that changed."""
    changed = []
    for name, meta in sorted(index["benchmarks"].items()):
        files = graph_files(html_dir, index, name)
        if meta.get("unit") != "bytes" or not files:
            continue
        summary = summary_with_zero_as(name, [load_graph(name, p, f) for p, f in files], ZERO_BYTES_AS)
        target = html_dir / (summary.path + ".json")
        before = target.read_text() if target.is_file() else None
        summary.save(str(html_dir))
        if target.read_text() != before:
            changed.append(name)
    return changed


# ---- 2. the note ----

def story_links(html_dir, index):
    """[(workload class, label, {machine: ratio fragment}, {machine: device-time fragment})]: each
    workload's track_ratio_to_unfused at its largest shape and main dtype without the one-call form
    (the charts to read first), and its cold device time there with every strategy, on a log scale."""
    out = []
    for cls, label in STORY:
        bench = f"{cls}.{FIGURE}"
        meta = index["benchmarks"].get(bench)
        if meta is None:
            continue
        params = dict(zip(meta["param_names"], meta["params"]))
        # The suite lists shapes small, medium, large, and a workload's main dtype first.
        where = [("p-shape", params["shape"][-1]), ("p-dtype", params["dtype"][0])]
        strategies = []
        if ONE_CALL in params["strategy"]:  # else asv's default: every strategy
            strategies = [("p-strategy", s) for s in params["strategy"] if s != ONE_CALL]
        ratio, device = {}, {}
        for graph_params, _ in graph_files(html_dir, index, bench):
            m = graph_params["machine"]
            ratio[m] = fragment(bench, [("machine", m)] + where + strategies)
        for graph_params, _ in graph_files(html_dir, index, f"{cls}.{DEVICE_TIME}"):
            m = graph_params["machine"]
            device[m] = fragment(f"{cls}.{DEVICE_TIME}", [("machine", m)] + where + [("y-axis-scale", "log")])
        out.append((cls, label, ratio, device))
    return out


def attr(s):
    """`s` in a double-quoted HTML attribute (asv's quotes in parameter values stay readable)."""
    return html.escape(s, quote=False).replace('"', "&quot;")


def note_html(links, machines):
    shown = [m for m in machines if any(m in ratio or m in device for _, _, ratio, device in links)]
    without = [m for m in machines if m not in shown]

    def cell(frags, m, cls, text):
        if m not in frags:
            return "<td>-</td>"
        return f'<td><a class="{cls}" data-machine="{attr(m)}" href="{attr(frags[m])}">{text}</a></td>'

    rows = []
    for cls, label, ratio, device in links:
        cells = "".join(cell(ratio, m, "fk-story", "fused / unfused") + cell(device, m, "fk-device-time", "device time")
                        for m in shown)
        rows.append(f"<tr><td><code>{html.escape(cls.split('.', 1)[1])}</code> {html.escape(label)}</td>{cells}</tr>")
    head = "".join(f'<th colspan="2">{html.escape(m)}</th>' for m in shown)
    missing = (f"<p>No result of these figures yet on: {html.escape(', '.join(without))} (its results predate "
               "them; its other figures are in the charts below).</p>\n") if without else ""
    return f"""<div id="{NOTE_ID}" class="benchmark-group" style="max-width: 66em; padding: 0 1em;">
<h1>Start here</h1>
<p><b>Does fusion win?</b> Read <i>fused / unfused</i> first: <code>{FIGURE}</code>, each fused strategy's
device time over the unfused one's, at the workload's largest shape. Below 1, fusion wins; <code>unfused</code>
is the line at 1. Every figure on this site is lower-is-better.</p>
<table class="table table-condensed" style="width: auto;"><thead><tr><th>workload</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{missing}<p><code>fused_onecall</code> plans inside every call (10-22 ms of device time where the others take
10 us - 2 ms), so on a linear axis it flattens the other lines: the <i>fused / unfused</i> links leave it out
(click it in the strategy panel to add it back), the <i>device time</i> links use a log scale (the
<i>log scale</i> button, on any chart). Memory: <code>track_peak_device_bytes</code> is what one call
allocates, <code>track_resident_device_bytes</code> what the strategy holds between calls; a graph replay
allocates nothing per call (peak 0) and holds its memory (resident), so read the two together. The small
charts below are, per commit, the geometric mean of all cases on all machines (in the memory charts a case
at 0 counts as one 2 MiB page). <i>Regressions</i> lists steps past each figure's threshold
(asv.conf.json). More in docs/site.md.</p>
</div>
"""


GRID_DIV = '<div id="summarygrid-display"'


def add_note(index_html, note):
    text = index_html.read_text(encoding="utf-8")
    if f'id="{NOTE_ID}"' in text:
        return  # already there (a second run on the same folder)
    start = text.find(GRID_DIV)
    end = text.find(">", start)
    if start < 0 or end < 0:
        die(f"no {GRID_DIV}> in {index_html}: is this asv 0.6.6's index.html?")
    files.write_atomic(index_html, text[:end + 1] + "\n" + note + text[end + 1:])


# ---- 3. error.html ----

FILE_HINT = f"""<p id="{FILE_HINT_ID}">
  Opened <code>index.html</code> as a file (<code>file://</code>)? A browser then refuses the libraries
  (their integrity check needs a web server) and asv's data (it reads its JSON files with XMLHttpRequest).
  Serve the folder instead: <code>python -m http.server 8000</code> in it, then open
  <a href="http://localhost:8000/">http://localhost:8000/</a>; or, in the repository, after
  <code>bash scripts/publish-site.sh</code>, <code>python -m asv preview</code> (http://127.0.0.1:8080/).
</p>
"""


def add_file_hint(error_html):
    text = error_html.read_text(encoding="utf-8")
    if f'id="{FILE_HINT_ID}"' in text:
        return
    at = text.rfind("</body>")
    if at < 0:
        die(f"no </body> in {error_html}")
    files.write_atomic(error_html, text[:at] + FILE_HINT + text[at:])


def run(config="asv.conf.json", html_dir=None, out=print) -> None:
    html_dir = published_html_dir(config, html_dir)
    if not (html_dir / "index.json").is_file():
        die(f"no index.json in {html_dir}: did `asv publish` run?")
    index = json.loads((html_dir / "index.json").read_text())
    changed = rewrite_summaries(html_dir, index)
    add_note(html_dir / "index.html", note_html(story_links(html_dir, index), sorted(index["machines"])))
    add_file_hint(html_dir / "error.html")
    out(f"{html_dir}: a start-here note on the grid; {len(changed)} grid summaries in bytes "
        "had cases at 0, now counted as one 2 MiB page")
