"""``python -m hbclf.datasets [--data-home DIR]``: summarise the PASCAL data."""

import argparse
import sys

from . import load_pascal


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hbclf.datasets", description=__doc__)
    parser.add_argument("--data-home", help="a full PASCAL copy (default: the embedded one)")
    args = parser.parse_args(argv)
    try:
        print(load_pascal("all", data_home=args.data_home, labelled_only=False).DESCR)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
