"""report.png from a report's rows: small multiples per workload and dtype, and the roofline.

Needs matplotlib (the `report` extra), imported on first use; never CuPy, so a saved
report.json renders on any machine (`fusion-kernels report --plot-from`).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from . import files
from ..suite.workloads import WORKLOADS

# One colour per declared strategy, the same in every panel and every report: fixed by name, so a
# strategy keeps its colour whichever workloads a report holds (tests check every declared one has its own).
STRATEGY_COLORS = {
    "unfused": "black",
    "partial": "#8c564b",
    "fused_onecall": "#ff7f0e",
    "fused_planned": "#1f77b4",
    "fused_graph": "#17becf",
    "auto": "#bcbd22",
    "fused_prolog": "#9467bd",
    "fused_prolog_graph": "#e377c2",
    "single_kernel": "#d62728",
    "torch_addmm_activation": "#2ca02c",
    "torch_eager": "#7f7f7f",
    "torch_compile": "#1b5e20",
    "gemm_cupy": "#393b79",
    "gemm_nvmath": "#e7ba52",
    "gemm_torch": "#637939",
}
OTHER_COLOR = "#c7c7c7"  # a strategy this version does not declare (an older or newer report.json)
WORKLOAD_MARKERS = dict(zip(WORKLOADS, "o^sDvPX*h<>p"))
WIDE = 10.0  # max/min above this: a log axis (time spans decades across the suite's shapes)
NEEDED = ("workload", "shape", "dtype", "strategy", "cold_ms", "speedup_vs_unfused")


class ReportFileError(ValueError):
    """A report.json that cannot be plotted; the message is one line."""


def load(path, measured: bool = True) -> tuple[list, dict]:
    """(rows, meta) of a saved report.json, checked; ReportFileError says what is wrong. `measured`:
    it must hold a measured case (a picture needs one; a comparison of releases does not)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ReportFileError(f"{path} is not text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"{path} is not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    what = f"{path} is not a report.json of fusion-kernels report"
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ReportFileError(f"{what}: no list of rows")
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise ReportFileError(f"{what}: meta is not an object")
    peaks = meta.get("peaks")
    if peaks is not None and not (isinstance(peaks, dict) and _positive(peaks.get("bandwidth"))
                                  and isinstance(peaks.get("flops"), dict)
                                  and all(map(_positive, peaks["flops"].values()))):
        raise ReportFileError(f"{what}: meta.peaks is not a bandwidth and FLOP rates")
    for i, row in enumerate(data["rows"]):
        why = _row_problem(row)
        if why:
            raise ReportFileError(f"{what}: row {i} {why}")
    if measured and not any(r["cold_ms"] is not None for r in data["rows"]):
        raise ReportFileError(f"{path} holds no measured case: nothing to plot")
    return data["rows"], meta


def _row_problem(row) -> str | None:
    if not isinstance(row, dict):
        return "is not an object"
    missing = [k for k in NEEDED if k not in row]
    if missing:
        return f"has no {', '.join(missing)}"
    for key in ("workload", "shape", "dtype", "strategy"):
        if not isinstance(row[key], str):
            return f"{key} is not a string: {row[key]!r}"
    if not all(p.isdigit() and int(p) > 0 for p in row["shape"].split("x")):
        return f"shape is not like 2000x1000x4000: {row['shape']!r}"
    for key in ("cold_ms", "speedup_vs_unfused"):
        if row[key] is not None and not _positive(row[key]):
            return f"{key} is not a positive number or null: {row[key]!r}"
    return None


def _positive(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < math.inf


def _size(row: dict) -> tuple:
    """Sort key of a row's shape: elements, then the suite's order (fft_conv's medium and large are
    the same size; large is the larger FFT)."""
    dims = tuple(int(p) for p in row["shape"].split("x"))
    w = WORKLOADS.get(row["workload"])
    declared = list(w.shapes.values()) if w else []
    return math.prod(dims), declared.index(dims) if dims in declared else -1


def panels(rows) -> list[tuple[str, str, list]]:
    """(workload, dtype, measured rows) per panel: workloads in the suite's order, dtypes in the workload's."""
    measured = [r for r in rows if r["cold_ms"] is not None]
    known = list(WORKLOADS) + [r["workload"] for r in measured if r["workload"] not in WORKLOADS]
    out = []
    for name in dict.fromkeys(known):
        declared = WORKLOADS[name].dtypes if name in WORKLOADS else ()
        mine = [r for r in measured if r["workload"] == name]
        for dtype in dict.fromkeys([*declared, *(r["dtype"] for r in mine)]):
            group = [r for r in mine if r["dtype"] == dtype]
            if group:
                out.append((name, dtype, group))
    return out


def headline(workload: str, dtype: str, group: list) -> str:
    """The panel's title: the best fused strategy and its speedup over unfused at the largest shape
    that has one; without an unfused base, the fastest strategy at the largest shape."""
    right = [r for r in group if r.get("correct") is not False] or group  # a wrong result is no win
    fused = [r for r in right if r["speedup_vs_unfused"] is not None and r["strategy"] != "unfused"]
    if fused:
        top = max(map(_size, fused))
        best = max((r for r in fused if _size(r) == top), key=lambda r: r["speedup_vs_unfused"])
        return f"{workload} {dtype}: {best['strategy']} {best['speedup_vs_unfused']:.2f}x at {best['shape']}"
    top = max(map(_size, right))
    best = min((r for r in right if _size(r) == top), key=lambda r: r["cold_ms"])
    return f"{workload} {dtype}: fastest {best['strategy']} {best['cold_ms']:.3g} ms at {best['shape']}"


def color(strategy: str) -> str:
    return STRATEGY_COLORS.get(strategy, OTHER_COLOR)


def _strategies(rows) -> list:
    """Strategy names of these rows, in the fixed colour order (unknown ones last)."""
    present = {r["strategy"] for r in rows}
    return [s for s in STRATEGY_COLORS if s in present] + sorted(present - set(STRATEGY_COLORS))


def _scale(ax, values) -> None:
    if values and max(values) / min(values) > WIDE:
        ax.set_yscale("log")


def _draw_panel(fig, top, below, workload, dtype, group) -> None:
    """Cold device time (cell `top`) and speedup over unfused (cell `below`; without an unfused base, the
    time takes both) per shape."""
    shapes = [r["shape"] for r in sorted(group, key=_size)]
    shapes = list(dict.fromkeys(shapes))
    has_speedup = any(r["speedup_vs_unfused"] is not None for r in group)
    t_ax = fig.add_subplot(top if has_speedup else top.get_gridspec()[top.rowspan.start:below.rowspan.stop,
                                                                           top.colspan.start])
    s_ax = fig.add_subplot(below, sharex=t_ax) if has_speedup else None
    names = _strategies(group)
    spread = 0.5 if len(shapes) == 1 else 0.12
    for k, strategy in enumerate(names):
        pts = sorted((r for r in group if r["strategy"] == strategy), key=_size)
        # strategies side by side around their shape, so equal figures do not hide each other
        x = [shapes.index(r["shape"]) + (k - (len(names) - 1) / 2) * spread / len(names) for r in pts]
        unfused = strategy == "unfused"
        t_ax.plot(x, [r["cold_ms"] for r in pts], marker="o", ms=4, lw=2.2 if unfused else 1.3,
                  color=color(strategy), label=strategy, zorder=3 if unfused else 2)
        sp = [(xi, r["speedup_vs_unfused"]) for xi, r in zip(x, pts) if r["speedup_vs_unfused"] is not None]
        if s_ax is not None and sp and not unfused:
            s_ax.plot(*zip(*sp), marker="o", ms=4, lw=1.3, color=color(strategy), label=strategy)
    _scale(t_ax, [r["cold_ms"] for r in group])
    t_ax.set_ylabel("cold ms")
    t_ax.set_title(headline(workload, dtype, group), fontsize=9)
    bottom = t_ax
    if s_ax is not None:
        s_ax.axhline(1.0, color="black", lw=0.8, ls="--")
        _scale(s_ax, [r["speedup_vs_unfused"] for r in group if r["speedup_vs_unfused"] is not None] + [1.0])
        s_ax.set_ylabel("speedup")
        bottom = s_ax
    bottom.set_xticks(range(len(shapes)), shapes, fontsize=8, rotation=15 if len(shapes) > 2 else 0)
    if s_ax is not None:
        t_ax.tick_params(labelbottom=False)  # after set_xticks: the shared axis would show the labels again
    bottom.set_xlim(-0.4, len(shapes) - 0.6)
    for ax in (t_ax, s_ax):
        if ax is not None:
            ax.grid(True, which="major", alpha=0.3)
            ax.tick_params(labelsize=8)


def _draw_roofline(fig, cell, rows, peaks) -> None:
    """Achieved TFLOP/s against FLOP per byte: colour per strategy, marker per workload."""
    ax = fig.add_subplot(cell)
    shown = {}
    for r in rows:
        w = WORKLOADS.get(r["workload"])
        try:
            shape = tuple(int(p) for p in r["shape"].split("x"))
            flops, nbytes = w.flops(shape), w.bytes(shape, r["dtype"], r["strategy"])
        except (AttributeError, KeyError, TypeError, ValueError):  # not a workload or strategy of this version
            continue
        marker = WORKLOAD_MARKERS.get(r["workload"], "o")
        ax.scatter(flops / nbytes, flops / (r["cold_ms"] * 1e-3) / 1e12, s=18, marker=marker, gid=r["strategy"],
                   color=color(r["strategy"]), edgecolors="none", zorder=3)
        shown[r["workload"]] = marker
    if peaks:
        xs = [10 ** (i / 10) for i in range(-10, 45)]
        # complex rates are their real precision's (roofline._measure_peaks): one roof per real dtype;
        # roofs within 15% share a label, which would otherwise overprint
        roofs = sorted((rate, d) for d, rate in peaks["flops"].items() if not d.startswith("complex"))
        labels = []
        for rate, dtype in roofs:
            ax.plot(xs, [min(rate, x * peaks["bandwidth"]) / 1e12 for x in xs], lw=0.8, ls=":", color="k")
            if labels and rate < labels[-1][0] * 1.15:
                labels[-1][1].append(dtype)
            else:
                labels.append((rate, [dtype]))
        for rate, dtypes in labels:
            ax.annotate("roof " + ", ".join(dtypes), (xs[-1], rate / 1e12), fontsize=7, ha="right", va="bottom")
    ax.set(xscale="log", yscale="log", xlabel="FLOP per byte moved", ylabel="achieved TFLOP/s")
    ax.set_title("roofline" + (" (this GPU's measured peaks)" if peaks else " (no measured peaks)"), fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.tick_params(labelsize=8)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker=m, color="gray", label=w) for w, m in shown.items()]
    # below the axes, never over the points
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=7, ncol=3, frameon=False,
              handletextpad=0.1, columnspacing=0.8)


def figure(rows, meta=None):
    """The report's picture as a matplotlib Figure (not saved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    meta = meta or {}
    groups = panels(rows)
    # One row per workload, its dtypes side by side; the roofline takes the first free cell.
    by_workload = list(dict.fromkeys(w for w, _, _ in groups))
    ncols = max(2, max(sum(1 for w, _, _ in groups if w == name) for name in by_workload))
    places, row_of = [], {name: i for i, name in enumerate(by_workload)}
    col = dict.fromkeys(by_workload, 0)
    for name, _, _ in groups:
        places.append((row_of[name], col[name]))
        col[name] += 1
    free = [(row_of[n], c) for n in by_workload for c in range(col[n], ncols)]
    roof_at = free[0] if free else (len(by_workload), 0)
    nrows = max(len(by_workload), roof_at[0] + 1)
    # a row of one-shape panels (the FFT variants by default) needs less height, unless it holds the roofline
    heights = [1.0 if i == roof_at[0] or i >= len(by_workload)
               or len({r["shape"] for w, _, g in groups if w == by_workload[i] for r in g}) > 1 else 0.85
               for i in range(nrows)]
    fig = Figure(figsize=(5.2 * ncols, 4.6 * sum(heights) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    # two grid rows per panel row: time above speedup, 3:2
    grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[h * f for h in heights for f in (0.6, 0.4)])
    for (name, dtype, group), (i, j) in zip(groups, places):
        _draw_panel(fig, grid[2 * i, j], grid[2 * i + 1, j], name, dtype, group)
    measured = [r for g in groups for r in g[2]]
    _draw_roofline(fig, grid[2 * roof_at[0]:2 * roof_at[0] + 2, roof_at[1]], measured, meta.get("peaks"))
    handles = [Line2D([], [], marker="o", ms=5, lw=2.2 if s == "unfused" else 1.3, color=color(s), label=s)
               for s in _strategies(measured)]
    device = meta.get("device") or "an unnamed GPU"
    when = f", {meta['started']}" if meta.get("started") else ""
    # The figure's one legend, above the panels: a title would collide with it under constrained layout.
    fig.legend(handles=handles, loc="outside upper center", ncol=min(len(handles), 8), fontsize=9, frameon=False,
               title=f"fusion-kernels report on {device}{when}: cold device time and speedup over unfused per shape; "
                     "each title: the best at the largest shape", title_fontsize=11)
    return fig


def render(rows, meta, path) -> str | None:
    """Write the picture to `path` as a PNG (atomically). None, or why there is no plot."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install 'fusion-kernels[report]'): no plot"
    if not any(r["cold_ms"] is not None for r in rows):
        return "no case was measured: no plot"
    buf = io.BytesIO()
    figure(rows, meta).savefig(buf, format="png", dpi=100)
    files.write_atomic(path, buf.getvalue())
    return None
