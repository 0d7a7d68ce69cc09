"""pipelines.console: the installed `chart-sifter` command picks a command and runs it."""
import importlib

import pytest

from pipelines import console


def test_help_lists_every_command_and_each_is_a_module_with_run(capsys):
    with pytest.raises(SystemExit) as exited:
        console.main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0 and out.startswith("usage: chart-sifter COMMAND")
    for command in ("ingest", "train", "label", "evaluate", "serve", "demo"):
        assert f"\n  {command} " in out
        assert callable(importlib.import_module(f"pipelines.{command}").run)
    assert set(console.COMMANDS) == {"ingest", "train", "label", "evaluate", "serve", "demo"}


@pytest.mark.parametrize("argv, message", [(["lable"], "unknown command 'lable' (did you mean label?)"),
                                           ([], "usage: chart-sifter COMMAND")])
def test_an_unknown_or_missing_command_is_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        console.main(argv)
    assert exited.value.code == 2 and message in capsys.readouterr().err
