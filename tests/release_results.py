"""Synthetic asv results of one commit measured with two nvmath-python releases, made from the committed
H200 result files (real figures, samples and statistics): the results of each release as recorded, or
with chosen cases changed. CPU only."""

import itertools
import json
import math
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "h200"
COMMIT = "b3c08a0f"
SOURCE = ROOT / "results" / MACHINE / "b3c08a0f-env-b08b7acd073a9628b6794c9fc23eef34.json"
STATS = ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75")


def as_release(data: dict, version: str) -> dict:
    """`data` (an asv result) as if its environment had nvmath-python `version`: name and parameters."""
    data = json.loads(json.dumps(data))
    old = data["params"]["nvmath-python"]
    data["env_name"] = data["env_name"].replace(f"nvmath-python{old}", f"nvmath-python{version}")
    data["params"]["nvmath-python"] = data["requirements"]["nvmath-python"] = version
    return data


def change(data: dict, bench: str, combo: tuple, how) -> None:
    """Change one case of `bench` (its parameters as plain strings) in place: a factor on its value,
    samples and statistics, or "skip" (asv's NaN) or "fail" (asv's null)."""
    columns = data["result_columns"]
    row = data["results"][bench]
    params = row[columns.index("params")]
    i = list(itertools.product(*params)).index(tuple(repr(p) for p in combo))
    value = row[columns.index("result")]
    if how in ("skip", "fail"):
        value[i] = math.nan if how == "skip" else None
        for name in (*STATS, "samples"):
            row[columns.index(name)][i] = None
        return
    value[i] *= how
    for name in STATS:
        row[columns.index(name)][i] *= how
    samples = row[columns.index("samples")]
    samples[i] = [x * how for x in samples[i]]


def config(tmp_path: Path, results: Path) -> Path:
    """An asv.conf.json in `tmp_path`: this repository's, with `results` and private html and env folders."""
    from asv.util import load_json

    conf = load_json(ROOT / "asv.conf.json", js_comments=True)
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), results_dir=str(results),
                html_dir=str(tmp_path / "html"), env_dir=str(tmp_path / "env"))
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(conf))
    return path


def with_release(tmp_path: Path, version: str = "0.9.0") -> Path:
    """The committed results plus every committed H200 result again, as measured with nvmath-python
    `version` (the same figures: two environments differing only by that release). Returns the config."""
    results = tmp_path / "results"
    shutil.copytree(ROOT / "results", results)
    for path in sorted((ROOT / "results" / MACHINE).glob("*-*.json")):
        data = as_release(json.loads(path.read_text()), version)
        (results / MACHINE / f"{path.name.split('-')[0]}-nvmath-python{version}.json").write_text(json.dumps(data))
    return config(tmp_path, results)


def write(tmp_path: Path, changes=(), versions=("0.9.0", "1.0.0")) -> Path:
    """A folder with asv.conf.json and results/ holding COMMIT's result once per release in `versions`;
    the last release's gets `changes` [(bench, combo, how)]. Returns the config's path."""
    results = tmp_path / "results"
    (results / MACHINE).mkdir(parents=True)
    shutil.copy(ROOT / "results" / MACHINE / "machine.json", results / MACHINE / "machine.json")
    shutil.copy(ROOT / "results" / "benchmarks.json", results / "benchmarks.json")
    source = json.loads(SOURCE.read_text())
    for version in versions:
        data = as_release(source, version)
        if version == versions[-1]:
            for bench, combo, how in changes:
                change(data, bench, combo, how)
        (results / MACHINE / f"{COMMIT}-nvmath-python{version}.json").write_text(json.dumps(data))
    return config(tmp_path, results)
