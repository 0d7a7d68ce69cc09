"""Command-line options, one style for every command, the one Beam's examples use: argparse's
`parse_known_args` takes the command's own flags and everything else becomes the pipeline's
`PipelineOptions` (runner, --streaming, Dataflow, Dask ...), and a flag that is neither is refused before
any work. Flags several commands share are declared here, once."""
import argparse
import difflib
import os
import sys
from typing import Iterator, Optional, Sequence

from core.inputs import DEFAULT_MAX_FILE_MB, DEFAULT_READ_TIMEOUT_S
from transforms.image import MAX_PIXELS

CONSOLE_SCRIPT = "chart-sifter"  # the installed command (setup.py, pipelines/console.py)
BEAM_OPTIONS_URL = "https://beam.apache.org/documentation/programming-guide/#configuring-pipeline-options"
BEAM_EPILOG = f"""Any other flag is a Beam pipeline option: the runner and its settings, e.g.
  --runner=DataflowRunner --project P --region R --temp_location gs://B/tmp --setup_file ./setup.py
  --direct_running_mode=multi_processing --direct_num_workers=2
  --runner=apache_beam.runners.dask.dask_runner.DaskRunner --dask_client_address=tcp://HOST:8786
--help_beam lists every Beam option; {BEAM_OPTIONS_URL} explains them."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's lines, and adds each option's default where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if action.option_strings and not (
            default is None or default is False or default == [] or default == argparse.SUPPRESS
        ):
            text += " (default: %(default)s)"
        return text


class _BeamHelp(argparse.Action):
    """--help_beam: print every Beam pipeline option (those of the runners installed here) and exit."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(beam_help(parser.prog))
        parser.exit()


def beam_help(prog: str) -> str:
    """Beam's own options, grouped by the PipelineOptions class that declares them."""
    from apache_beam.runners.dask import dask_runner  # noqa: F401  (declares the Dask options)

    parser = argparse.ArgumentParser(prog=prog, usage=f"{prog} [its options] [Beam options]", add_help=False,
                                     description=f"Beam pipeline options: {BEAM_OPTIONS_URL}",
                                     conflict_handler="resolve", formatter_class=_HelpFormatter)
    for options_class in _beam_options_classes():
        options_class._add_argparse_args(parser.add_argument_group(options_class.__name__))
    return parser.format_help()


def _beam_options_classes() -> list[type]:
    """Every PipelineOptions subclass imported so far (Beam's own, and the Dask runner's once imported)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    return sorted(set(_subclasses(PipelineOptions)), key=lambda c: (c.__module__, c.__name__))


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class CommandParser(argparse.ArgumentParser):
    """argparse's parser whose usage error for an unknown flag names the nearest known one."""

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(unrecognized(extras, flags_of(self)))
        return parsed


def program(command: str) -> str:
    """How the user started `command`: `chart-sifter <command>` (the installed command) or `python -m ...`."""
    if os.path.basename(sys.argv[0]) == CONSOLE_SCRIPT:
        return f"{CONSOLE_SCRIPT} {command}"
    return f"python -m pipelines.{command}"


def parser(command: str, description: str, beam: bool) -> CommandParser:
    """The parser of `python -m pipelines.<command>` with the flags every command takes; `beam`: a Beam
    pipeline, whose other flags are Beam options (parse them with `parse_with_beam`; see BEAM_EPILOG)."""
    result = CommandParser(prog=program(command), description=description,
                           epilog=BEAM_EPILOG if beam else None, formatter_class=_HelpFormatter,
                           allow_abbrev=False)  # never take a Beam flag for an abbreviation of ours
    if beam:
        result.add_argument("--help_beam", action=_BeamHelp, help="List every Beam pipeline option and exit.")
    result.add_argument("--debug", action="store_true", help="Verbose logging, and TensorFlow's start-up messages.")
    return result


def parse_with_beam(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> tuple[argparse.Namespace,
                                                                                               list[str]]:
    """(the command's flags, the rest as Beam pipeline options). A flag that is neither, or a Beam option with a
    bad value, is a usage error (exit 2) naming the nearest flag, before any work: Beam itself would only log
    "Discarding unparseable args" and run without it."""
    args, rest = parser.parse_known_args(argv)
    beam = _BeamOptionsParser()
    try:
        unknown = beam.unknown(rest)
        if unknown:  # the Dask runner's options are declared by its module, which imports dask: only if needed
            from apache_beam.runners.dask import dask_runner  # noqa: F401

            unknown = _BeamOptionsParser().unknown(rest)
    except _Refused as err:
        parser.error(f"{err} (a Beam pipeline option: see --help_beam)")
    if unknown:
        parser.error(unrecognized(unknown, flags_of(parser), flags_of(beam)) + "; not a flag of this command "
                     "(--help) nor a Beam pipeline option (--help_beam)")
    return args, rest


class _Refused(Exception):
    pass


class _BeamOptionsParser(argparse.ArgumentParser):
    """Every Beam pipeline option declared so far, as Beam's own parser declares them; errors are raised."""

    def __init__(self):
        super().__init__(add_help=False, allow_abbrev=False, conflict_handler="resolve")
        for options_class in _beam_options_classes():
            options_class._add_argparse_args(self)

    def add_value_provider_argument(self, *args, **kwargs):  # what Beam's parser adds for templated options
        return self.add_argument(*args, **kwargs)

    def unknown(self, flags: list[str]) -> list[str]:
        return self.parse_known_args(flags)[1]

    def error(self, message: str):
        raise _Refused(message)


def flags_of(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]


def unrecognized(extras: list[str], *known: list[str]) -> str:
    """argparse's message for flags it does not know, with the nearest known flag for each (`known`: lists in
    order of preference; '-' and '_' count as one)."""
    hints = {}
    for arg in extras:
        name = arg.split("=", 1)[0]
        if name.startswith("--") and name not in hints:
            hints[name] = next(filter(None, (nearest(name, flags) for flags in known)), None)
    found = {name: hint for name, hint in hints.items() if hint}
    text = "unrecognized arguments: " + " ".join(extras)
    if len(found) == 1:
        text += f" (did you mean {next(iter(found.values()))}?)"
    elif found:
        text += " (did you mean " + ", ".join(f"{hint} for {name}" for name, hint in found.items()) + "?)"
    return text


def nearest(name: str, flags: list[str]) -> Optional[str]:
    """The flag (or name) of `flags` closest to `name`, if one is close; '-' and '_' count as one."""
    by_spelling = {flag.replace("-", "_"): flag for flag in flags}
    match = difflib.get_close_matches(name.replace("-", "_"), list(by_spelling), n=1, cutoff=0.75)
    return by_spelling[match[0]] if match else None


def shipped_config(name: str) -> str:
    """configs/<name> as shipped with the code, found from any working directory: beside the packages (a
    checkout or editable install), else where setup.py's data_files put it (sys.prefix/configs)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (here, sys.prefix):
        path = os.path.join(root, "configs", name)
        if os.path.isfile(path):
            return path
    return os.path.join("configs", name)


def add_model(parser: argparse.ArgumentParser) -> None:
    """--model_dir and --threshold: which exported model, and where its chart label starts."""
    parser.add_argument("--model_dir", default=None,
                        help="A training run directory, a model_type's `latest` file, or the model_type folder "
                             "(default: the model shipped in models/shipped).")
    parser.add_argument("--threshold", type=float, default=None,
                        help="Chart probability at or above which an image is `chart` (default: the model's own).")
    parser.add_argument("--review_band", type=review_band, default=None, metavar="LOW,HIGH",
                        help="Scores in [LOW, HIGH) are marked review: true (default: the band recorded with the "
                             "model, if any; 'off': none).")


DEFAULT_MODEL_CHECK_S = 10.0


def add_model_check(parser: argparse.ArgumentParser, what: str) -> None:
    """--model_check_interval: how often a long-running job looks for a new run in --model_dir."""
    parser.add_argument("--model_check_interval", type=float, default=DEFAULT_MODEL_CHECK_S,
                        help=f"{what}: when --model_dir is a model_type folder or its `latest` file, seconds between "
                             "looks at which run `latest` names; a new run is loaded and used from then on, no "
                             "restart (a run directory, or the shipped model, stays fixed).")


def review_band(text: str) -> tuple[float, float]:
    """--review_band LOW,HIGH (0 <= LOW <= HIGH <= 1), or 'off' (an empty band)."""
    if text.strip().lower() == "off":
        return (0.0, 0.0)
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (e.g. 0.2,0.8) or off, got {text!r}") from None
    if not 0.0 <= low <= high <= 1.0:
        raise argparse.ArgumentTypeError(f"need 0 <= LOW <= HIGH <= 1, got {text!r}")
    return (low, high)


def add_input_limits(parser: argparse.ArgumentParser, outside_root: bool = True) -> None:
    """--max_file_mb, --max_pixels and (for commands that list folders) --allow_outside_root."""
    parser.add_argument("--max_file_mb", type=float, default=DEFAULT_MAX_FILE_MB,
                        help="Larger input files are refused (file_too_large), never read whole.")
    parser.add_argument("--max_pixels", type=pixel_count, default=MAX_PIXELS,
                        help="Images whose header claims more pixels (width x height, e.g. 5e7) are refused "
                             "before decoding (decompression_bomb).")
    if outside_root:
        parser.add_argument("--allow_outside_root", action="store_true",
                            help="Read symlinks that point outside the input folder (else: outside_root dead letters).")


def add_read_timeout(parser: argparse.ArgumentParser) -> None:
    """--read_timeout: how long a remote read (gs://, s3://, ...) may go unanswered."""
    parser.add_argument("--read_timeout", type=float, default=DEFAULT_READ_TIMEOUT_S,
                        help="Seconds a remote read (gs://, any Beam filesystem) may take before the image is "
                             "refused as unreadable.")


def pixel_count(text: str) -> int:
    """--max_pixels: a whole number of pixels above 0, in any float notation (50000000, 5e7)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels (e.g. 5e7), got {text!r}") from None
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be at least 1 pixel, got {text!r}")
    return int(value)


def add_batching(parser: argparse.ArgumentParser) -> None:
    """--batch_size and --decode_threads: how labelling feeds the model."""
    parser.add_argument("--batch_size", type=int, default=64, help="Largest batch given to the model.")
    parser.add_argument("--decode_threads", type=int, default=0,
                        help="Threads reading and decoding images in each worker process (0: one per core).")
