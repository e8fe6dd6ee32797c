"""``ipafstudy hrct worklist|scores|agreement DATA``: the HRCT reading workflow.

* ``worklist``: the scan/zone/pattern cells a third reader must adjudicate (open flags), with both
  readers' grades and percentages and empty adjudicator columns. Fill ``adjudicator_grade``
  (0-4) and ``adjudicator`` (reader id).
* ``adjudicated``: turn the filled worklist into ``hrct_reads`` rows (``reader_role=adjudicator``,
  one per scan and zone, patterns not adjudicated left blank) to append to hrct_reads.
* ``scores``: per-reader scores and the consensus score of every scan.
* ``agreement``: ICC(2,1) with 95 % CI per pattern score and total; weighted kappa per pattern.
"""

from __future__ import annotations

import argparse
import io

import pandas as pd

from ipafstudy.cohort.agreement import hrct_agreement
from ipafstudy.cohort.hrct import adjudication_worklist, adjudicator_rows
from ipafstudy.data.loaders import load_study
from ipafstudy.errors import InvalidOptionError
from ipafstudy.fileio import ZIP_EPOCH, csv_text, normalize_zip, pin_core_dates, write_output_file
from ipafstudy.rules.hrct import consensus, reader_scores
from ipafstudy.settings import ClinicalSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hrct",
        help="HRCT reading workflow: adjudication worklist, scores, inter-reader agreement",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="hrct_command", metavar="ACTION", required=True)
    for name, helptext in (
        ("worklist", "write the cells a third reader must adjudicate (.xlsx or .csv)"),
        ("scores", "write per-reader and consensus scores per scan (.csv)"),
        ("agreement", "print ICC(2,1) and weighted kappa between the two readers"),
        ("adjudicated", "turn a filled worklist into hrct_reads rows (reader_role=adjudicator) to append"),
    ):
        p = sub.add_parser(name, help=helptext, description=helptext)
        if name == "adjudicated":
            p.add_argument("worklist", help="the filled worklist (.xlsx or .csv)")
            p.add_argument("--out", metavar="ROWS.csv", required=True, help="hrct_reads rows to append")
            p.add_argument("--force", action="store_true", help="replace an existing output file")
            p.set_defaults(handler=run_adjudicated)
            continue
        p.add_argument("data", help="folder of CSV files or .xlsx workbook")
        p.add_argument("--settings", metavar="SETTINGS.yaml", help="clinical settings (adjudication gaps, consensus)")
        if name == "agreement":
            p.add_argument("--out", metavar="FILE.csv", help="also write the agreement table")
        else:
            p.add_argument("--out", metavar="FILE", required=True, help="output file")
        p.add_argument("--force", action="store_true", help="replace an existing output file")
        p.set_defaults(handler={"worklist": run_worklist, "scores": run_scores, "agreement": run_agreement}[name])


def _settings(path: str | None) -> ClinicalSettings:
    from ipafstudy.cli.screen import load_settings

    return load_settings(path)


def scores(reads: pd.DataFrame, settings: ClinicalSettings) -> pd.DataFrame:
    """Each reader's scores per scan, then the consensus row (reader = 'consensus')."""
    per_reader = reader_scores(reads)
    cons = consensus(reads, settings).scans.copy()
    cons.insert(2, "reader", "consensus")
    cons.insert(3, "reader_role", f"consensus ({settings.consensus_rule})")
    frame = pd.concat([per_reader, cons], ignore_index=True, sort=False)
    return frame.sort_values(["patient_id", "scan_date"], kind="mergesort").reset_index(drop=True)


def _write(path: str, frame: pd.DataFrame, force: bool, sheet: str) -> None:
    suffix = path.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        data = csv_text(frame).encode("utf-8")
    elif suffix == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=sheet, index=False)
        # Fixed zip and document dates: the same worklist is the same file on every run.
        stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*ZIP_EPOCH)
        data = normalize_zip(buffer.getvalue(), rewrite={"docProps/core.xml": lambda x: pin_core_dates(x, stamp)})
    else:
        raise InvalidOptionError(f"--out {path!r}: use a .csv or .xlsx file name")
    write_output_file(path, data, force=force)


def run_worklist(args: argparse.Namespace) -> int:
    settings = _settings(args.settings)
    study = load_study(args.data)
    frame = adjudication_worklist(study.hrct_reads, settings)
    _write(args.out, frame, args.force, "adjudication")
    n_scans = frame[["patient_id", "scan_date"]].drop_duplicates().shape[0]
    print(f"{len(frame)} zone/pattern cell(s) on {n_scans} scan(s) need a third reader; written to {args.out}")
    return 0


def run_scores(args: argparse.Namespace) -> int:
    settings = _settings(args.settings)
    study = load_study(args.data)
    if not args.out.lower().endswith(".csv"):
        raise InvalidOptionError(f"--out {args.out!r}: scores are written as a .csv file")
    _write(args.out, scores(study.hrct_reads, settings), args.force, "scores")
    print(f"scores written to {args.out}")
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    study = load_study(args.data)
    result = hrct_agreement(study.hrct_reads)
    frame = result.to_frame()
    print(f"Inter-reader agreement, reader1 vs reader2 ({result.n_scans} scans)")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(frame.round(3).to_string(index=False))
    if args.out:
        _write(args.out, frame, args.force, "agreement")
    return 0


def run_adjudicated(args: argparse.Namespace) -> int:
    path = str(args.worklist)
    if path.lower().endswith(".xlsx"):
        filled = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    elif path.lower().endswith(".csv"):
        filled = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        raise InvalidOptionError(f"{path!r}: give the worklist as .xlsx or .csv")
    rows = adjudicator_rows(filled, source=path)
    _write(args.out, rows, args.force, "hrct_reads")
    print(f"{len(rows)} adjudicator row(s) written to {args.out}; append them to hrct_reads and re-run screen")
    return 0
