"""`fusion-kernels site vendor`: point the CDN <script>/<link> tags of an `asv publish` site at local copies.

asv 0.6.6's index.html loads its libraries from CDNs and jumps to error.html
when one fails, so offline (a GPU cluster) the site shows nothing. The same
library versions come from the npm registry (`npm pack`), cached under
.asv/vendor-cache/ next to asv.conf.json (or $FUSION_KERNELS_VENDOR_CACHE) so that the cache can be
copied to a machine without a registry. Every file is checked against the hash
pinned here before it is copied, and its tag carries that hash as `integrity`;
a mismatch stops the publish. Run through scripts/publish-site.sh, which passes
asv's arguments.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path

from . import files
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
# URL in asv 0.6.6's www/index.html -> (npm package@version, file in it, the
# file's SRI hash). A cached tarball can be swapped or edited after npm checked
# it, so every file is checked against its pin before it is copied, and the pin
# goes into the page for the browser to check again. The pins were computed from
# tarballs whose sha512 matched the registry's dist.integrity (`npm view
# jquery@3.3.1 dist.integrity`); for jQuery, orderBars, md5 and bootstrap they
# also match the integrity attributes of asv's own CDN tags.
# cdnjs's flot 0.8.3 *.min.js are cdnjs's own minifications: npm's flot 0.8.3
# ships only the unminified sources of the same release.
# stupidtable 1.0.1 is not on npm: stupid-table-plugin 1.1.3 (the only npm
# release) is the same plugin with the same stupidtable() API asv calls.
ASSETS = {
    "https://code.jquery.com/jquery-3.3.1.min.js":
        ("jquery@3.3.1", "dist/jquery.min.js",
         "sha384-tsQFqpEReu7ZLhBV2VZlAu7zcOV+rXbYlF2cqB8txI/8aZajjp4Bqd+V6D5IgvKT"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.min.js":
        ("flot@0.8.3", "jquery.flot.js",
         "sha384-BEasWKcYLxJSe7Dd+oFIyT92mMKekrrit2ilFCODDydHzd4eReLNz3UYG/TF1b0v"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.time.min.js":
        ("flot@0.8.3", "jquery.flot.time.js",
         "sha384-KIXIWdEuZIzipZRAGOzqfrwF/z4Euro30f4MWlFxD6A39o51qSaMOGD84i20SMlW"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.selection.min.js":
        ("flot@0.8.3", "jquery.flot.selection.js",
         "sha384-EWb1fTmbkoRXdUSIBGPoXwWsjIrntLRianrZEsrLMLtJcmQ4SyIkY19Ic42ISGKH"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.categories.min.js":
        ("flot@0.8.3", "jquery.flot.categories.js",
         "sha384-yzh2w0jzVQMN+zU78Sn6vQ6Sjlv47t1/SJlLOYTC/BnpfzvDHkVyPmZbL7RD17aA"),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        ("flot-orderbars@1.0.0", "js/jquery.flot.orderBars.js",
         "sha384-VhDsPFI7AHKepd+RGBZSOhbPzpyFtL5f/RI1+HfLSdxfSS1MAf5C8hbn+KM1y9N0"),
    f"{CDNJS}/stupidtable/1.0.1/stupidtable.min.js":
        ("stupid-table-plugin@1.1.3", "stupidtable.min.js",
         "sha384-gGnTJbRKCn6K3iFprK1XL3RoTiYOV5813ZTfrjLPYyF3aCoz8DGPdrwY3Fy3PLNO"),
    f"{CDNJS}/blueimp-md5/2.19.0/js/md5.min.js":
        ("blueimp-md5@2.19.0", "js/md5.min.js",
         "sha384-JmVtRz6RWiXnA14QbIOJzPuU3MidULOpBP66deeLLyyoF4Tr/gZlbkHkL6vTthxH"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js":
        ("bootstrap@3.1.1", "dist/js/bootstrap.min.js",
         "sha384-oFMgcGzKX7GaHtF4hx14KbxdsGjyfHK6m1comHjI1FH6g4m6qYre+4cnZbwaYbHD"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        ("bootstrap@3.1.1", "dist/css/bootstrap.min.css",
         "sha384-7tY7Dc2Q8WQTKGz2Fa0vC4dWQo07N4mJjKvHfIGnxuC4vPqFGFQppd9b3NWpf18/"),
}
TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.S)
URL = re.compile(r'\b(src|href)="(https?://[^"]+)"')
# What asv's tags carry for the CDN: its integrity hashes (replaced by the pins),
# crossorigin and referrerpolicy (a same-origin file needs neither for SRI).
CDN_ATTRS = re.compile(r'\s+(integrity|crossorigin|referrerpolicy)="[^"]*"')


class SiteError(RuntimeError):
    """The site cannot be completed as published: the message says what to do."""


def die(msg):
    raise SiteError(msg)


def cache_dir(config="asv.conf.json") -> Path:
    """Where the npm tarballs are kept: $FUSION_KERNELS_VENDOR_CACHE, else .asv/vendor-cache/ beside `config`."""
    return Path(os.environ.get("FUSION_KERNELS_VENDOR_CACHE")
                or Path(config).resolve().parent / ".asv" / "vendor-cache")


def tarball(spec, cache: Path):
    """The npm tarball of `spec` (name@version), fetched into `cache` once."""
    name, version = spec.rsplit("@", 1)
    tgz = cache / f"{name}-{version}.tgz"
    if tgz.exists():
        return tgz
    if not shutil.which("npm"):
        die(f"npm is not installed; it is needed once to fetch {spec} into {cache} "
            "(or copy that folder from a machine that has it)")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / ".gitignore").write_text("*\n")  # never committed, even before .gitignore says so
    r = subprocess.run(["npm", "pack", "--loglevel=error", spec], cwd=cache, capture_output=True, text=True)
    if r.returncode or not tgz.exists():
        errs = [ln for ln in r.stderr.splitlines() if not re.match(r"npm error (code|errno|syscall) ", ln)]
        err = (errs or ["no output"])[0]
        die(f"`npm pack {spec}` failed (is the npm registry reachable?): {err}")
    return tgz


def sri_of(data, algo="sha384"):
    return f"{algo}-{base64.b64encode(hashlib.new(algo, data).digest()).decode()}"


def vendor(url, html_dir, cache: Path):
    """Copy the asset behind `url` into html_dir/vendor/ if it matches its pin;
    its site-relative path and SRI hash."""
    if url not in ASSETS:
        die(f"no local copy known for {url}: add it to ASSETS in {__file__}")
    spec, file, pin = ASSETS[url]
    name = f"{spec}/{file}"
    tgz = tarball(spec, cache)
    try:
        with tarfile.open(tgz) as tar:
            member = tar.extractfile(f"package/{file}")
            if member is None:
                raise KeyError("not a regular file")
            data = member.read()
    except (tarfile.TarError, KeyError, OSError, EOFError, zlib.error) as e:
        die(f"{name}: cannot read it from {tgz} ({e}); delete that tarball to fetch it again")
    got = sri_of(data, pin.split("-", 1)[0])
    if got != pin:
        die(f"{name} in {tgz} is not the pinned file (its hash is {got}, the pin {pin}): "
            "it was not copied; delete that tarball to fetch the genuine one from npm")
    rel = f"vendor/{name}"
    (html_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(html_dir / rel, data)
    return rel, pin


def rewrite_tag(tag, html_dir, cache: Path):
    m = URL.search(tag)
    if not m:
        return tag
    rel, pin = vendor(m.group(2), html_dir, cache)
    tag = CDN_ATTRS.sub("", tag)
    return tag.replace(m.group(0), f'{m.group(1)}="{rel}" integrity="{pin}"')


def published_html_dir(config="asv.conf.json", html_dir=None) -> Path:
    """The folder `asv publish` wrote, from the arguments it was given (publish-site.sh passes the same)."""
    if html_dir is None:
        from asv.config import Config

        try:
            html_dir = Config.load(config).html_dir
        except Exception as exc:  # asv's own error for a missing or broken config
            die(f"cannot read {config} for the published folder ({exc}); pass --html-dir")
    return Path(html_dir)


def run(config="asv.conf.json", html_dir=None, out=print) -> None:
    html_dir = published_html_dir(config, html_dir)
    pages = sorted(html_dir.glob("*.html"))
    if not pages:
        die(f"no HTML pages in {html_dir}: did `asv publish` run?")
    cache = cache_dir(config)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        files.write_atomic(page, TAG.sub(lambda m: rewrite_tag(m.group(0), html_dir, cache), text))
    out(f"{html_dir} loads its libraries from {html_dir}/vendor/ (works offline), each checked against its pinned hash")
