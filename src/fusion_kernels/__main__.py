import sys

try:
    from .cli import main

    code = main()
except KeyboardInterrupt:  # before main() could catch it (while importing)
    print("fusion-kernels: interrupted", file=sys.stderr)
    code = 130
raise SystemExit(code)
