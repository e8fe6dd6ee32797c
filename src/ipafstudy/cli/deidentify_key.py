"""``ipafstudy deidentify-key --out FILE``: create the secret key for ``--deidentify``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deidentify-key",
        help="create the secret key file used by analyze/screen --deidentify (keep it; never share it)",
        description=(
            "Write 32 random bytes (hex) to FILE, readable only by you. `analyze` and `screen` with "
            "--deidentify FILE then replace patient ids by pseudonyms keyed with it (the same key gives the same "
            "pseudonyms on every run) and dates by study days. Keep the key apart from the outputs: whoever has it "
            "and a list of ids can link pseudonyms back to patients. See docs/privacy.md."
        ),
        epilog="example:\n  ipafstudy deidentify-key --out ~/keys/study.key\n"
               "  ipafstudy analyze data/ --out shared/ --deidentify ~/keys/study.key",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="key file to create")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing key (later runs then get different pseudonyms)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.cohort.deidentify import create_key

    path = create_key(args.out, force=args.force)
    print(f"wrote a new de-identification key to {path} (mode 600); keep it safe and out of the output folders")
    return 0
