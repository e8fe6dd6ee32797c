"""Command-line interface: ``ipafstudy COMMAND --help`` for each command.

Each command lives in its own module under ``ipafstudy.cli`` and exposes
``register(subparsers)``; the module list below is the single place they are wired in.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ipafstudy import __version__
from ipafstudy.errors import IpafstudyError

COMMAND_MODULES: tuple[str, ...] = (
    "validate", "synth", "dictionary", "template", "plan", "analyze", "explain", "screen", "hrct", "deidentify_key",
    "omop", "users", "serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipafstudy",
        description="Turn the records of an IPAF treatment-response cohort into a reproducible study.",
    )
    parser.add_argument("--version", action="version", version=f"ipafstudy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"ipafstudy.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except IpafstudyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopped before finishing; no partial output files were left", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permission denied, a folder vanished: one line, no traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
