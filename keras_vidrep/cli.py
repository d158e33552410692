"""The ``keras-vidrep`` command line (sub-commands arrive with later issues)."""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-vidrep",
        description="Unsupervised video representation learning with LSTMs.")
    parser.add_argument("--version", action="store_true",
                        help="print the version and exit")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.version:
        from keras_vidrep import __version__
        print(__version__)
        return 0
    build_parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
