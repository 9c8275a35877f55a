"""The report's picture from a saved report.json, without a GPU: small multiples per workload and
dtype, one colour per strategy everywhere, headline titles, legends off the data, and
`report --plot-from` refusing a file it cannot plot (exit 2, one line)."""

import json
import subprocess
import sys

import pytest

from fusion_kernels import cli
from fusion_kernels.harness import report, report_plot
from fusion_kernels.suite.workloads import WORKLOADS

PEAKS = {"device": "NVIDIA H200", "bandwidth": 4.4e12,
         "flops": {"float16": 7.1e14, "float32": 5.0e13, "float64": 5.3e13, "complex64": 5.0e13, "complex128": 5.3e13}}
# Made-up, H200-like: a strategy's cold time is its roofline floor, stretched, plus a launch cost
# per kernel; unfused and the matmul's partial run more kernels.
STRETCH = {"unfused": 1.35, "partial": 1.25, "fused_onecall": 1.2, "fused_planned": 1.1, "fused_graph": 1.08,
           "fused_prolog": 1.15, "fused_prolog_graph": 1.12, "single_kernel": 1.6}
KERNELS = {"unfused": 4, "partial": 2}


def case(workload, shape, dtype, strategy, unfused_ms=None):
    w = WORKLOADS[workload]
    floor = max(w.flops(shape) / PEAKS["flops"][dtype], w.bytes(shape, dtype, strategy) / PEAKS["bandwidth"])
    cold_ms = (floor * STRETCH[strategy] + 6e-6 * KERNELS.get(strategy, 1)) * 1e3
    row = dict.fromkeys(report.COLUMNS)
    row.update(workload=workload, shape="x".join(map(str, shape)), dtype=dtype, strategy=strategy, cold_ms=cold_ms,
               warm_ms=cold_ms * 0.97, call_ms=cold_ms * 1.05, host_ms=0.02, device_mb=100.0, resident_mb=1.0,
               speedup_vs_unfused=(unfused_ms or cold_ms) / cold_ms, roofline_fraction=floor * 1e3 / cold_ms,
               relative_error=1e-7, tolerance=1e-5, correct=True, device_mode="blocked")
    return row


def sample_report(workloads=("matmul_bias_relu", "fft_conv", "rfft_conv")) -> dict:
    """A report.json as report.run writes it: every suite shape of the main two, the small one of the rest."""
    rows = []
    for name in workloads:
        w = WORKLOADS[name]
        shapes = list(w.shapes.values()) if w.default_shapes is None else [w.shapes[s] for s in w.default_shapes]
        for shape in shapes:
            for dtype in w.dtypes:
                base = case(name, shape, dtype, "unfused")
                rows.append(base)
                rows += [case(name, shape, dtype, s, base["cold_ms"]) for s in w.strategies
                         if s not in ("unfused", "auto")]
    rows.append(dict(rows[-1], strategy="fused_graph", cold_ms=None, speedup_vs_unfused=None, skip="no graphs here"))
    return {"meta": {"device": "NVIDIA H200", "versions": {"cupy": "13.6.0"}, "repeat": 10,
                     "started": "2025-01-01T00:00:00", "peaks": PEAKS}, "rows": rows}


@pytest.fixture(scope="module")
def sample():
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    data = sample_report()
    return data, report_plot.figure(data["rows"], data["meta"])


def panel_axes(fig):
    """(time axes, speedup axes or None) per panel: a panel's time axes carries its title."""
    axes = [ax for ax in fig.axes if not ax.get_title().startswith("roofline")]
    out = []
    for ax in axes:
        if ax.get_title():
            below = [b for b in axes if not b.get_title() and b.get_shared_x_axes().joined(ax, b)]
            out.append((ax, below[0] if below else None))
    return out


def test_png_is_written(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    data = sample_report()
    assert report_plot.render(data["rows"], data["meta"], tmp_path / "report.png") is None
    png = tmp_path / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]  # no temporary left


def test_one_panel_per_workload_and_dtype_with_time_and_speedup(sample):
    data, fig = sample
    expected = [(w, d) for w in ("matmul_bias_relu", "fft_conv", "rfft_conv") for d in WORKLOADS[w].dtypes]
    panels = panel_axes(fig)
    assert [tuple(t.get_title().split(":")[0].split()) for t, _ in panels] == expected
    assert all(s is not None for _, s in panels)
    assert len(fig.axes) == 2 * len(expected) + 1  # time and speedup per panel, and the roofline
    titles = dict(zip(expected, panels))
    # time spans decades across the matmul shapes: log; one FFT-variant shape does not
    assert titles["matmul_bias_relu", "float16"][0].get_yscale() == "log"
    assert titles["rfft_conv", "float32"][0].get_yscale() == "linear"


def test_each_strategy_has_one_colour_on_every_panel(sample):
    from matplotlib.colors import to_hex

    data, fig = sample
    seen = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):
                seen.setdefault(line.get_label(), set()).add(to_hex(line.get_color()))
        for points in ax.collections:  # the roofline's points
            if points.get_gid():
                seen.setdefault(points.get_gid(), set()).update(to_hex(c) for c in points.get_facecolors())
    assert set(seen) == {r["strategy"] for r in data["rows"] if r["cold_ms"] is not None}
    for strategy, colours in seen.items():
        assert colours == {to_hex(report_plot.STRATEGY_COLORS[strategy])}, strategy
    legend = fig.legends[0]
    assert {t.get_text(): to_hex(h.get_color()) for t, h in zip(legend.get_texts(), legend.legend_handles)} == \
        {s: to_hex(report_plot.STRATEGY_COLORS[s]) for s in seen}


def test_colours_are_fixed_by_name_not_by_order():
    declared = {s for w in WORKLOADS.values() for s in w.strategies}
    assert declared <= set(report_plot.STRATEGY_COLORS)
    assert len(set(report_plot.STRATEGY_COLORS.values())) == len(report_plot.STRATEGY_COLORS)
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    rows = [r for r in sample_report(("fft_conv",))["rows"] if r["strategy"] != "fused_onecall"][::-1]
    fig = report_plot.figure(rows, {})
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label() in report_plot.STRATEGY_COLORS:
                assert line.get_color() == report_plot.STRATEGY_COLORS[line.get_label()]


def expected_headline(rows, workload, dtype):
    """The best fused speedup at the suite's largest shape, worked out here from the rows."""
    large = "x".join(map(str, WORKLOADS[workload].shapes["large"]))
    cands = [r for r in rows if (r["workload"], r["dtype"], r["shape"]) == (workload, dtype, large)
             and r["strategy"] != "unfused" and r["speedup_vs_unfused"]]
    best = max(cands, key=lambda r: r["speedup_vs_unfused"])
    return f"{workload} {dtype}: {best['strategy']} {best['speedup_vs_unfused']:.2f}x at {large}"


def test_titles_carry_the_best_fused_strategy_at_the_largest_shape(sample):
    data, fig = sample
    titles = [t.get_title() for t, _ in panel_axes(fig)]
    for workload in ("matmul_bias_relu", "fft_conv"):
        for dtype in WORKLOADS[workload].dtypes:
            assert expected_headline(data["rows"], workload, dtype) in titles
    # fft_conv's medium (65536x1024) and large (16384x4096) hold as many elements: the suite's large wins
    assert any(t.startswith("fft_conv complex64: single_kernel") and t.endswith("at 16384x4096") for t in titles)


def test_a_wrong_result_is_not_the_headline():
    rows = [r for r in sample_report(("fft_conv",))["rows"] if r["dtype"] == "complex64"]
    best = max((r for r in rows if r["shape"] == "16384x4096" and r["strategy"] != "unfused"),
               key=lambda r: r["speedup_vs_unfused"])
    best["correct"] = False
    title = report_plot.headline("fft_conv", "complex64", rows)
    assert best["strategy"] not in title and "x at 16384x4096" in title


def test_without_an_unfused_base_the_title_names_the_fastest():
    peers = ["torch_eager", "torch_compile", "torch_addmm_activation"]
    rows = [dict(r, workload="matmul_peers", strategy=s, speedup_vs_unfused=None)
            for r, s in zip(sample_report(("matmul_bias_relu",))["rows"][:3], peers)]
    rows[1]["cold_ms"] = 0.001
    title = report_plot.headline("matmul_peers", "float16", rows)
    assert title.startswith("matmul_peers float16: fastest torch_compile 0.001 ms at")
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    assert len(report_plot.figure(rows, {}).axes) == 2  # the time panel alone, and the roofline


def test_legends_stay_off_the_data(sample):
    _, fig = sample
    fig.canvas.draw()
    assert len(fig.legends) == 1  # the strategies' legend, one for every panel
    boxes = [ax.get_window_extent() for ax in fig.axes]
    assert not any(fig.legends[0].get_window_extent().overlaps(b) for b in boxes)
    for ax in fig.axes:
        if ax.get_legend():  # the roofline's workload markers
            assert ax.get_title().startswith("roofline")
            assert not any(ax.get_legend().get_window_extent().overlaps(b) for b in boxes)


def test_plot_from_renders_without_gpu_libraries(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    (tmp_path / "report.json").write_text(json.dumps(sample_report()))
    # Any attempt to import a GPU library fails the run.
    code = ("import sys\n"
            "class Refuse:\n"
            "    def find_spec(self, name, *a):\n"
            "        if name.split('.')[0] in ('cupy', 'nvmath', 'numba', 'torch'):\n"
            "            raise AssertionError('imported ' + name)\n"
            "sys.meta_path.insert(0, Refuse())\n"
            "from fusion_kernels import cli\n"
            f"sys.exit(cli.main(['report', '--plot-from', {str(tmp_path / 'report.json')!r}]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"plot: {tmp_path / 'report.png'}"
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("content, message", [
    (None, "cannot read {path}: No such file or directory"),
    ('{"rows": [', "{path} is not JSON (Expecting value, line 1 column 11)"),
    (b"\xff\xfe\x00", "{path} is not text"),
    ('[1, 2]', "{path} is not a report.json of fusion-kernels report: no list of rows"),
    ('{"meta": {"peaks": {"bandwidth": "fast"}}, "rows": []}', "meta.peaks is not a bandwidth and FLOP rates"),
    ('{"rows": [{"workload": "fft_conv"}]}', "row 0 has no shape, dtype, strategy, cold_ms, speedup_vs_unfused"),
    ('{"rows": [{"workload": "fft_conv", "shape": "8x", "dtype": "complex64", "strategy": "unfused", "cold_ms": 1, '
     '"speedup_vs_unfused": 1}]}', "row 0 shape is not like 2000x1000x4000: '8x'"),
    ('{"rows": [{"workload": "fft_conv", "shape": "8x16", "dtype": "complex64", "strategy": "unfused", "cold_ms": "1", '
     '"speedup_vs_unfused": 1}]}', "row 0 cold_ms is not a positive number or null: '1'"),
    ('{"rows": [{"workload": "fft_conv", "shape": "8x16", "dtype": "complex64", "strategy": "unfused", "cold_ms": null, '
     '"speedup_vs_unfused": null, "skip": "too big"}]}', "{path} holds no measured case: nothing to plot"),
])
def test_plot_from_a_file_it_cannot_plot_exits_2_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "report.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert cli.main(["report", "--plot-from", str(path)]) == report.BAD_ARGUMENTS == 2
    err = capsys.readouterr().err
    assert err.startswith("fusion-kernels report: --plot-from: ") and len(err.strip().splitlines()) == 1
    assert message.format(path=path) in err
    assert not (tmp_path / "report.png").exists()


def test_plot_from_takes_out_only(tmp_path, capsys):
    (tmp_path / "report.json").write_text(json.dumps(sample_report()))
    assert cli.main(["report", "--plot-from", str(tmp_path / "report.json"), "--dtype", "float16"]) == 2
    assert "takes --out only, not --dtype" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert cli.main(["report", "--plot-from", str(tmp_path / "report.json"), "--out", str(tmp_path / "file")]) == 2
    assert "--out must be a folder" in capsys.readouterr().err


def test_plot_from_without_matplotlib_says_so(tmp_path, capsys, monkeypatch):
    (tmp_path / "report.json").write_text(json.dumps(sample_report()))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert cli.main(["report", "--plot-from", str(tmp_path / "report.json"), "--out", str(tmp_path / "o")]) == 1
    assert "matplotlib is not installed" in capsys.readouterr().err


def test_the_committed_h200_report_draws_with_the_headlines_of_its_data():
    """docs/report-h200.png's data: every panel title is the headline its rows give."""
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parents[1] / "docs" / "data" / "report-h200-af058a6.json").read_text())
    titles = [t.get_title() for t, _ in panel_axes(report_plot.figure(data["rows"], data["meta"]))]
    assert "NVIDIA H200" in json.dumps(data["meta"])
    report_md = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text()
    assert f"all {len(data['rows'])} cases" in report_md  # the count docs/report.md quotes
    for workload in ("matmul_bias_relu", "fft_conv"):
        for dtype in WORKLOADS[workload].dtypes:
            assert expected_headline(data["rows"], workload, dtype) in titles
