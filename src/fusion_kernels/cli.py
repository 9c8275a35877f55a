"""`fusion-kernels` command line: `info` says what this machine can run."""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__, backend


def _info(args) -> int:
    report = {
        "fusion_kernels": __version__,
        "versions": backend.versions(),
        "gpu": backend.gpu_reason() or backend.device_name(),
        "nvmath": backend.nvmath_reason() or "ok",
        "fft_callbacks": backend.callbacks_reason() or "ok",
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for key, value in report.items():
            print(f"{key:15} {value}")
    return 0 if backend.gpu_reason() is None else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fusion-kernels", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="the GPU, library versions and what can run here (exit 1 without a GPU)")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
