"""Fast start (issue 10 item 16): which heavy libraries each command loads, checked by module presence, not timing.

Each case runs in a fresh interpreter (a subprocess), because this test session has long since imported
everything; the child prints the heavy top-level packages found in ``sys.modules`` after the command ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources

import pytest

from ipafstudy.cli import COMMAND_MODULES

HEAVY = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "docx", "openpyxl", "yaml", "pydantic", "tqdm")

_CHILD = """
import contextlib, io, json, sys
from ipafstudy.cli import main
argv = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _run(argv: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []], ids=["version", "help", "no-command"])
def test_version_and_help_import_no_heavy_library(argv):
    result = _run(argv)
    assert result["code"] == 0
    assert result["heavy"] == []


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_command_help_imports_no_heavy_library(module):
    result = _run([module.replace("_", "-"), "--help"])
    assert result["code"] == 0
    assert result["heavy"] == []


def test_validate_imports_no_plotting_or_modelling_library():
    bundled = resources.files("ipafstudy") / "example_data"
    result = _run(["validate", str(bundled)])
    assert result["code"] == 0  # the bundled cohort is valid (warnings allowed)
    assert "pandas" in result["heavy"]  # the probe works: validate does load the data with pandas
    assert not {"matplotlib", "statsmodels", "scipy"} & set(result["heavy"])


def test_probe_sees_heavy_imports():
    """The checks above can fail: a command that reads YAML pulls yaml and pydantic into sys.modules."""
    result = _run(["plan", "--default"])
    assert result["code"] == 0
    assert {"yaml", "pydantic"} <= set(result["heavy"])


def test_synth_package_names_resolve_lazily():
    import ipafstudy.data.synth as synth

    for name in synth.__all__:
        assert getattr(synth, name) is not None
    assert synth.generate_cohort.__kwdefaults__["seed"] == synth.DEFAULT_SEED
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = synth.no_such_name
