"""Issue 10 item 13: unwritable --out, Ctrl-C and bad settings give one clear line, exit 1 (130), no partial files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ipafstudy
from ipafstudy.cli import main
from ipafstudy.errors import OutputNotWritableError
from ipafstudy.fileio import check_output_dir, check_output_file, output_dir

DATA = str(Path(ipafstudy.__file__).parent / "example_data")
CLI = str(Path(sys.executable).parent / "ipafstudy")


def _blocked(tmp_path: Path) -> Path:
    """A location no one can write to, also as root: a path whose 'folder' is a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    return blocker / "sub"


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["analyze", DATA, "--out", "{out}/run", "--quiet"],
    ["screen", DATA, "--out", "{out}/run"],
    ["hrct", "worklist", DATA, "--out", "{out}/w.xlsx"],
    ["hrct", "scores", DATA, "--out", "{out}/s.csv"],
    ["hrct", "agreement", DATA, "--out", "{out}/a.csv"],
    ["validate", DATA, "--json", "{out}/v.json"],
    ["dictionary", "--out", "{out}/dict"],
    ["template", "{out}/t.xlsx"],
    ["synth", "--bundled", "--out", "{out}/data"],
    ["hrct", "adjudicated", "{out}/../filled.csv", "--out", "{out}/rows.csv"],
    ["deidentify-key", "--out", "{out}/k.key"],
])
def test_unwritable_out_is_one_line_exit_1(tmp_path, capsys, monkeypatch, argv):
    import ipafstudy.data.loaders as loaders

    def no_loading(*_a, **_k):
        raise AssertionError("the output location must be checked before the data are loaded")

    monkeypatch.setattr(loaders, "load_study", no_loading)
    monkeypatch.setattr(loaders, "validate_path", no_loading)
    blocked = _blocked(tmp_path)
    assert main([a.replace("{out}", str(blocked)) for a in argv]) == 1
    line = _one_line_error(capsys)
    assert str(tmp_path / "blocker") in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_explain_csv_unwritable(tmp_path, capsys):
    assert main(["explain", str(tmp_path), "crp", "--csv", str(_blocked(tmp_path) / "x.csv")]) == 1
    assert "blocker" in _one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputNotWritableError, match="does not accept new files"):
            check_output_dir(ro / "run")
        with pytest.raises(OutputNotWritableError):
            check_output_file(ro / "x.csv")
    finally:
        ro.chmod(0o700)


def test_check_output_creates_nothing(tmp_path):
    check_output_dir(tmp_path / "a" / "b")
    check_output_file(tmp_path / "c" / "d.csv")
    assert list(tmp_path.iterdir()) == []


def test_analyze_creates_no_folder_when_loading_fails(tmp_path, capsys):
    out = tmp_path / "new" / "run"
    assert main(["analyze", str(tmp_path / "missing"), "--out", str(out), "--quiet"]) == 1
    _one_line_error(capsys)
    assert not (tmp_path / "new").exists()


def test_ctrl_c_during_analysis_exits_130_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import ipafstudy.analysis.study as study

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "run_study", interrupted)
    out = tmp_path / "run"
    assert main(["analyze", DATA, "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().startswith("interrupted")
    assert not out.exists()


def test_ctrl_c_while_writing_removes_the_new_folder(tmp_path, capsys, monkeypatch):
    import ipafstudy.reporting.xlsx as xlsx

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(xlsx, "write_xlsx", interrupted)  # after analysis_dataset.csv, figures and tables exist
    out = tmp_path / "new" / "run"
    assert main(["analyze", DATA, "--out", str(out), "--quiet"]) == 130
    assert not (tmp_path / "new").exists()


def test_failure_in_existing_folder_keeps_it(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "other.txt").write_text("mine\n")
    with pytest.raises(RuntimeError), output_dir(keep, force=True) as out:
        (out / "new.csv").write_text("x\n")
        raise RuntimeError("boom")
    assert (keep / "other.txt").read_text() == "mine\n"  # nothing of the user's is deleted


@pytest.mark.parametrize("text, expected", [
    ("min_age: abc\n", "min_age = 'abc' is not valid; expected a number"),
    ("min_exposure_days: [1]\nbaseline_includes_start_day: 2\n", "min_exposure_days = [1]"),
    ("baseline_window_days: 1.5\n", "expected a whole number"),
    ("data_cutoff_date: 2024-13-01\n", "month must be in 1..12 (a date must be YYYY-MM-DD)"),
    ("min_age: : :\n", "not valid YAML"),
    ("outcomes: crp\n", "outcomes must be a list"),
    ("outcomes: [{label: x}]\n", "outcomes must be outcome codes"),
])
def test_screen_settings_wrong_types(tmp_path, capsys, text, expected):
    settings = tmp_path / "s.yaml"
    settings.write_text(text)
    out = tmp_path / "run"
    assert main(["screen", DATA, "--out", str(out), "--settings", str(settings)]) == 1
    assert expected in _one_line_error(capsys)
    assert not out.exists()


def test_screen_settings_missing_file(tmp_path, capsys):
    assert main(["screen", DATA, "--out", str(tmp_path / "run"), "--settings", str(tmp_path / "no.yaml")]) == 1
    assert "not found" in _one_line_error(capsys)


def test_real_process_prints_no_traceback(tmp_path):
    blocked = _blocked(tmp_path)
    proc = subprocess.run([CLI, "screen", DATA, "--out", str(blocked)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


def test_plan_with_impossible_date_is_one_line(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("clinical:\n  data_cutoff_date: 2024-13-01\n")
    assert main(["analyze", DATA, "--out", str(tmp_path / "run"), "--plan", str(plan), "--quiet"]) == 1
    assert "month must be in 1..12" in _one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_ctrl_c_while_screen_writes_leaves_no_folder(tmp_path, capsys, monkeypatch):
    import ipafstudy.cohort.outputs as outputs

    real = outputs.atomic_write_text
    calls = []

    def second_write_interrupted(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, text)

    monkeypatch.setattr(outputs, "atomic_write_text", second_write_interrupted)
    out = tmp_path / "run"
    assert main(["screen", DATA, "--out", str(out)]) == 130
    assert len(calls) == 2 and not out.exists()  # the first file was written, then removed with the new folder
