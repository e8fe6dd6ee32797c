"""The command line as a user meets it: help for every command, version, errors without tracebacks."""

from __future__ import annotations

import pytest

from ipafstudy import __version__
from ipafstudy.cli import COMMAND_MODULES, build_parser, main


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


COMMANDS = sorted(name.replace("_", "-") for name in COMMAND_MODULES)  # module deidentify_key: deidentify-key


def test_every_command_module_is_registered():
    assert set(_subcommands()) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: ipafstudy {command}")


@pytest.mark.parametrize("action", ["worklist", "scores", "agreement"])
def test_hrct_actions_have_help(action, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["hrct", action, "--help"])
    assert exit_info.value.code == 0
    assert f"ipafstudy hrct {action}" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ipafstudy {__version__}"


def test_no_command_prints_help_and_succeeds(capsys):
    assert main([]) == 0
    assert "usage: ipafstudy" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["validate", "screen", "analyze"])
def test_missing_input_is_a_clear_error_not_a_traceback(command, tmp_path, capsys):
    missing = tmp_path / "no-such-folder"
    argv = [command, str(missing)]
    if command != "validate":
        argv += ["--out", str(tmp_path / "out")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert "no-such-folder" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
