"""`fusion-kernels site vendor` copies only library files that match their pinned
hashes, stops the publish naming a file that does not, and gives every tag it
writes that hash as `integrity`. CPU only; needs asv, and npm or a filled
.asv/vendor-cache/."""

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fusion_kernels.harness import site_vendor
from subprocess_env import with_src

ROOT = Path(__file__).resolve().parent.parent
ASSETS = site_vendor.ASSETS


def _env(cache):
    # The interpreter running the tests is the `python` publish-site.sh finds.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return with_src(PATH=path, FUSION_KERNELS_VENDOR_CACHE=str(cache))


def _vendor(html, cache):
    return subprocess.run([sys.executable, "-m", "fusion_kernels", "site", "vendor", "--html-dir", str(html)],
                          cwd=ROOT, env=_env(cache), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def asv_pages(tmp_path_factory):
    """asv's own page templates, as `asv publish` copies them (CDN tags and all)."""
    asv = pytest.importorskip("asv", reason="asv is not installed")
    src = Path(asv.__file__).parent / "www"
    pages = tmp_path_factory.mktemp("asv-pages")
    for page in src.glob("*.html"):
        shutil.copy(page, pages)
    return pages


@pytest.fixture(scope="module")
def genuine_cache(tmp_path_factory, asv_pages):
    """A private copy of the vendor cache, filled (by npm if needed) and checked."""
    cache = ROOT / ".asv" / "vendor-cache"
    if not shutil.which("npm") and not cache.is_dir():
        pytest.skip("no npm to fetch the site's libraries, and no .asv/vendor-cache/")
    scratch = tmp_path_factory.mktemp("fill") / "html"
    shutil.copytree(asv_pages, scratch)
    r = _vendor(scratch, cache)  # fills the project's cache, as a publish would
    assert r.returncode == 0, r.stderr
    copy = tmp_path_factory.mktemp("cache") / "vendor-cache"
    shutil.copytree(cache, copy)
    return copy


def _tamper(tgz, file):
    """Rewrite the npm tarball `tgz` with one byte appended to package/`file`."""
    with tarfile.open(tgz) as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
    assert f"package/{file}" in [m.name for m, _ in members]
    with tarfile.open(tgz, "w:gz") as dst:
        for m, data in members:
            if m.name == f"package/{file}":
                data += b"\n"
                m.size = len(data)
            dst.addfile(m, None if data is None else io.BytesIO(data))


def _tarball(cache, spec):
    name, version = spec.rsplit("@", 1)
    return cache / f"{name}-{version}.tgz"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link"):
            self.tags.append((tag, dict(attrs)))


def _tags(page):
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tags


def _sri(data, algo):
    return f"{algo}-{base64.b64encode(hashlib.new(algo, data).digest()).decode()}"


def test_every_asset_is_pinned():
    for url, (spec, file, pin) in ASSETS.items():
        algo, _, digest = pin.partition("-")
        assert algo in ("sha256", "sha384", "sha512") and len(base64.b64decode(digest)) * 8 == int(algo[3:]), url


def _publish(tmp_path, cache):
    html = tmp_path / "html"
    r = subprocess.run(["bash", "scripts/publish-site.sh", "--html-dir", str(html)],
                       cwd=ROOT, env=_env(cache), capture_output=True, text=True, timeout=300)
    return r, html


def test_clean_publish_puts_integrity_on_every_library(tmp_path, genuine_cache):
    r, html = _publish(tmp_path, genuine_cache)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for page in html.glob("*.html"):
        urls = [a.get("src") or a.get("href") for _, a in _tags(page)]
        assert not [u for u in urls if u and u.startswith(("http:", "https:", "//"))], page
    vendored = {(a.get("src") or a.get("href")): a for _, a in _tags(html / "index.html")
                if (a.get("src") or a.get("href") or "").startswith("vendor/")}
    pins = {f"vendor/{spec}/{file}": pin for spec, file, pin in ASSETS.values()}
    assert set(vendored) == set(pins)
    for rel, attrs in vendored.items():
        # The pin, and the hash of the file the browser will get.
        assert attrs.get("integrity") == pins[rel], rel
        assert _sri((html / rel).read_bytes(), pins[rel].split("-")[0]) == pins[rel], rel


def test_tampered_cache_fails_the_publish(tmp_path, genuine_cache):
    cache = tmp_path / "vendor-cache"
    shutil.copytree(genuine_cache, cache)
    # flot is one of the files whose CDN tag had no usable hash before pinning.
    _tamper(_tarball(cache, "flot@0.8.3"), "jquery.flot.js")
    r, html = _publish(tmp_path, cache)
    assert r.returncode != 0
    assert "flot@0.8.3/jquery.flot.js" in r.stderr and "pinned" in r.stderr, r.stderr
    assert not (html / "vendor" / "flot@0.8.3" / "jquery.flot.js").exists()
    assert "vendor/" not in (html / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("url", list(ASSETS), ids=[f"{s}/{f}" for s, f, _ in ASSETS.values()])
def test_every_file_is_checked_before_it_is_copied(tmp_path, genuine_cache, asv_pages, url):
    spec, file, _ = ASSETS[url]
    cache = tmp_path / "vendor-cache"
    shutil.copytree(genuine_cache, cache)
    _tamper(_tarball(cache, spec), file)
    html = tmp_path / "html"
    shutil.copytree(asv_pages, html)
    r = _vendor(html, cache)
    assert r.returncode == 1
    assert f"{spec}/{file} in " in r.stderr, r.stderr
    assert not (html / "vendor" / spec / file).exists()


def test_unreadable_tarball_fails_naming_the_file(tmp_path, genuine_cache, asv_pages):
    cache = tmp_path / "vendor-cache"
    shutil.copytree(genuine_cache, cache)
    tgz = _tarball(cache, "jquery@3.3.1")
    tgz.write_bytes(tgz.read_bytes()[:1000])  # an interrupted copy
    html = tmp_path / "html"
    shutil.copytree(asv_pages, html)
    r = _vendor(html, cache)
    assert r.returncode == 1
    assert "jquery@3.3.1/dist/jquery.min.js" in r.stderr and str(tgz) in r.stderr, r.stderr
