"""``python -m hbclf.datasets [--data-home DIR]``: summarise the PASCAL data.

``python -m hbclf.datasets fetch-physionet [--data-home DIR] [--url URL]``:
download the PhysioNet/CinC 2016 training set into the data home.
"""

import argparse
import sys

from . import PHYSIONET_URL, fetch_physionet2016, load_pascal


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fetch-physionet"]:
        parser = argparse.ArgumentParser(prog="python -m hbclf.datasets fetch-physionet",
                                         description=fetch_physionet2016.__doc__.split("\n")[0])
        parser.add_argument("--data-home", help="the data home (default: $HBCLF_DATA, else "
                            "~/hbclf_data)")
        parser.add_argument("--url", default=PHYSIONET_URL, help="where the archive is "
                            "(default: the official training.zip)")
        parser.add_argument("--sha256", help="the archive's expected SHA-256")
        args = parser.parse_args(argv[1:])
        call = lambda: fetch_physionet2016(args.data_home, url=args.url,  # noqa: E731
                                           sha256=args.sha256).DESCR
    else:
        parser = argparse.ArgumentParser(prog="python -m hbclf.datasets", description=__doc__)
        parser.add_argument("--data-home", help="a full PASCAL copy (default: the embedded one)")
        args = parser.parse_args(argv)
        call = lambda: load_pascal("all", data_home=args.data_home,  # noqa: E731
                                   labelled_only=False).DESCR
    try:
        print(call())
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
