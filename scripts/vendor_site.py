"""Point the CDN <script>/<link> tags of an `asv publish` site at local copies.

asv 0.6.6's index.html loads its libraries from CDNs and jumps to error.html
when one fails, so offline (a GPU cluster) the site shows nothing. The same
library versions come from the npm registry (`npm pack`), cached under
.asv/vendor-cache/ so that the cache can be copied to a machine without a
registry. Run through scripts/publish-site.sh, which passes asv's arguments.
"""
import argparse
import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".asv" / "vendor-cache"
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
# URL in asv 0.6.6's www/index.html -> (npm package@version, file in it).
# cdnjs's flot 0.8.3 *.min.js are cdnjs's own minifications: npm's flot 0.8.3
# ships only the unminified sources of the same release.
# stupidtable 1.0.1 is not on npm: stupid-table-plugin 1.1.3 (the only npm
# release) is the same plugin with the same stupidtable() API asv calls.
ASSETS = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.min.js": ("flot@0.8.3", "jquery.flot.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.time.min.js": ("flot@0.8.3", "jquery.flot.time.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.selection.min.js": ("flot@0.8.3", "jquery.flot.selection.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.categories.min.js": ("flot@0.8.3", "jquery.flot.categories.js"),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        ("flot-orderbars@1.0.0", "js/jquery.flot.orderBars.js"),
    f"{CDNJS}/stupidtable/1.0.1/stupidtable.min.js": ("stupid-table-plugin@1.1.3", "stupidtable.min.js"),
    f"{CDNJS}/blueimp-md5/2.19.0/js/md5.min.js": ("blueimp-md5@2.19.0", "js/md5.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js":
        ("bootstrap@3.1.1", "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        ("bootstrap@3.1.1", "dist/css/bootstrap.min.css"),
}
TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.S)
URL = re.compile(r'\b(src|href)="(https?://[^"]+)"')
INTEGRITY = re.compile(r'\s+integrity="(sha\d+)-([^"]+)"')


def die(msg):
    sys.exit(f"publish-site: {msg}")


def tarball(spec):
    """The npm tarball of `spec` (name@version), fetched into the cache once."""
    name, version = spec.rsplit("@", 1)
    tgz = CACHE / f"{name}-{version}.tgz"
    if tgz.exists():
        return tgz
    if not shutil.which("npm"):
        die(f"npm is not installed; it is needed once to fetch {spec} into {CACHE} "
            "(or copy that folder from a machine that has it)")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")  # never committed, even before .gitignore says so
    r = subprocess.run(["npm", "pack", "--loglevel=error", spec], cwd=CACHE, capture_output=True, text=True)
    if r.returncode or not tgz.exists():
        errs = [ln for ln in r.stderr.splitlines() if not re.match(r"npm error (code|errno|syscall) ", ln)]
        err = (errs or ["no output"])[0]
        die(f"`npm pack {spec}` failed (is the npm registry reachable?): {err}")
    return tgz


def vendor(url, html_dir):
    """Copy the asset behind `url` into html_dir/vendor/; its site-relative path."""
    if url not in ASSETS:
        die(f"no local copy known for {url}: add it to ASSETS in {__file__}")
    spec, file = ASSETS[url]
    rel = f"vendor/{spec}/{file}"
    (html_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball(spec)) as tar:
        (html_dir / rel).write_bytes(tar.extractfile(f"package/{file}").read())
    return rel


def rewrite_tag(tag, html_dir):
    m = URL.search(tag)
    if not m:
        return tag
    rel = vendor(m.group(2), html_dir)
    tag = tag.replace(m.group(0), f'{m.group(1)}="{rel}"')
    # Keep the SRI hash where the npm file is byte-identical to the CDN's (the
    # browser then checks it); drop it where it is another build or version.
    sri = INTEGRITY.search(tag)
    if sri:
        digest = hashlib.new(sri.group(1), (html_dir / rel).read_bytes()).digest()
        if base64.b64encode(digest).decode() != sri.group(2):
            tag = tag.replace(sri.group(0), "")
    return re.sub(r'\s+(crossorigin|referrerpolicy)="[^"]*"', "", tag)


def main(argv):
    p = argparse.ArgumentParser(add_help=False)  # the arguments are asv publish's
    p.add_argument("--config", default="asv.conf.json")
    p.add_argument("--html-dir", "-o")
    args, _ = p.parse_known_args(argv)
    if args.html_dir is None:
        from asv.config import Config
        args.html_dir = Config.load(args.config).html_dir
    html_dir = Path(args.html_dir)
    pages = sorted(html_dir.glob("*.html"))
    if not pages:
        die(f"no HTML pages in {html_dir}: did `asv publish` run?")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        page.write_text(TAG.sub(lambda m: rewrite_tag(m.group(0), html_dir), text), encoding="utf-8")
    print(f"publish-site: {html_dir} loads its libraries from {html_dir}/vendor/ (works offline)")


if __name__ == "__main__":
    main(sys.argv[1:])
