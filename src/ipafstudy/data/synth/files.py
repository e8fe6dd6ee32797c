"""Writing a generated cohort as a CSV folder, and the bundled example copy shipped in the package.

Why separate: the exact bytes (column order, number format, line ends) are part of the contract that
the bundled copy equals ``generate_cohort()``; keeping them in one module keeps that contract visible.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from importlib import resources
from pathlib import Path

import pandas as pd

from ipafstudy.data.synth.design import TRUTH_FILE, SynthCohort
from ipafstudy.data.synth.generate import generate_cohort
from ipafstudy.fileio import atomic_write_bytes, prepare_output_dir

# --------------------------------------------------------------------------- writing


def _csv_text(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(round(v, 6))
        text = str(v)
        if any(ch in text for ch in ',"\n'):
            text = '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join(frame.columns)]
    lines.extend(",".join(cell(v) for v in row) for row in frame.itertuples(index=False, name=None))
    return "\n".join(lines) + "\n"


def cohort_files(cohort: SynthCohort) -> dict[str, bytes]:
    """File name -> exact bytes of the CSV folder (tables plus the truth sidecar)."""
    files = {f"{name}.csv": _csv_text(frame).encode("utf-8") for name, frame in cohort.tables.items()}
    files[TRUTH_FILE] = (json.dumps(cohort.truth, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def write_cohort(cohort: SynthCohort, out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Write the six CSV tables and ``generator_truth.json``; each file is written atomically.

    Refuses a non-empty folder unless ``force``; with ``force`` only the cohort's own files are
    replaced (other files in the folder are left alone). Returns the paths written.
    """
    out = Path(out_dir)
    prepare_output_dir(out, force=force)
    written = []
    for name, data in cohort_files(cohort).items():
        path = out / name
        atomic_write_bytes(path, data)
        written.append(path)
    return written


# --------------------------------------------------------------------------- the bundled copy


def bundled_files() -> dict[str, bytes]:
    """The example cohort shipped in the package (exactly ``generate_cohort()``)."""
    root = resources.files("ipafstudy") / "example_data"
    names = sorted(p.name for p in root.iterdir() if p.name.endswith((".csv", ".json")))
    if not names:
        raise FileNotFoundError("the bundled example cohort is missing; run python -m ipafstudy.cli.synth "
                                "--refresh-bundled")
    return {name: (root / name).read_bytes() for name in names}


def copy_bundled(out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Copy the bundled example cohort into ``out_dir`` (same overwrite rules as write_cohort)."""
    out = Path(out_dir)
    files = bundled_files()
    prepare_output_dir(out, force=force)
    written = []
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        written.append(out / name)
    return written


def refresh_bundled(target: str | Path | None = None) -> Path:
    """Regenerate the bundled copy from ``generate_cohort()`` (development use)."""
    path = Path(target) if target else Path(__file__).resolve().parents[2] / "example_data"
    path.mkdir(parents=True, exist_ok=True)
    files = cohort_files(generate_cohort())
    for stale in path.iterdir():
        if stale.suffix in (".csv", ".json") and stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        atomic_write_bytes(path / name, data)
    return path
