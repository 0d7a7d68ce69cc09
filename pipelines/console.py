"""`chart-sifter <command> [its flags]`: the installed command (setup.py's console script). Each command is the
same as `python -m pipelines.<command>`, run by `cli.main`; this module only picks it."""
import sys
from typing import Optional

from pipelines import cli, options

COMMANDS = {
    "ingest": "read labelled images from the sources of an ingest config into TFRecords and a transform graph",
    "train": "train a model of the model config on ingest's output, and export it",
    "label": "label the images of a folder, bucket or Pub/Sub subscription with a model (JSONL results)",
    "evaluate": "score a model on a folder holding chart/ and non_chart/: metrics and plots",
    "serve": "a REST API and a web page that label single images",
    "demo": "the whole job end to end on synthetic images, under $BASE_DIR (default: artifacts/)",
}


USAGE = """usage: {program} COMMAND [its flags]

Sort financial chart images from everything else.

commands:
{commands}

`{program} COMMAND --help` lists a command's flags; they work the same as `python -m pipelines.COMMAND ...`.
Every command takes --debug: verbose logging, and TensorFlow's start-up messages."""


def usage() -> str:
    width = max(map(len, COMMANDS))
    commands = "\n".join(f"  {name:<{width}}  {text}" for name, text in COMMANDS.items())
    return USAGE.format(program=options.CONSOLE_SCRIPT, commands=commands)


def main(argv: Optional[list[str]] = None) -> None:
    """Run `chart-sifter COMMAND ...` (exit 2 for a command it does not know, with the nearest one)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        raise SystemExit(0 if argv else 2)
    command = argv[0]
    if command not in COMMANDS:
        near = options.nearest(command, list(COMMANDS))
        hint = f" (did you mean {near}?)" if near else ""
        print(f"{usage()}\n\n{options.CONSOLE_SCRIPT}: error: unknown command {command!r}{hint}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = [sys.argv[0], *argv[1:]]  # what the command parses (cli.main hands it sys.argv[1:])
    cli.main(f"pipelines.{command}")
