"""pipelines.options: one style of command line for every command."""
import ast
import importlib
import os
import pathlib
import re
import shlex

import pytest
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipelines import evaluate, ingest, label, options, serve, train
from tests import support

COMMANDS = {  # command: (its options, a Beam pipeline)
    "ingest": (["--config", "--output_dir", "--debug", "--max_file_mb", "--max_pixels", "--allow_outside_root"], True),
    "label": (["--model_dir", "--input", "--output", "--streaming", "--threshold", "--sort_into", "--duration",
               "--poll_interval", "--batch_size", "--decode_threads", "--max_file_mb", "--max_pixels",
               "--allow_outside_root",
               "--allowed_prefix", "--debug"], True),
    "evaluate": (["--model_dir", "--data_dir", "--output_dir", "--threshold", "--batch_size", "--decode_threads",
                  "--max_file_mb", "--max_pixels", "--allow_outside_root", "--debug"], True),
    "train": (["--model_type", "--config", "--data_dir", "--epochs", "--batch_size", "--weights", "--seed", "--debug"],
              False),
    "serve": (["--model_dir", "--host", "--port", "--allowed_root", "--allowed_prefix", "--threshold", "--max_file_mb",
               "--max_pixels",
               "--max_request_mb", "--max_files", "--max_batch", "--debug"], False),
    "demo": (["--debug"], False),
}


def help_of(command: str, capsys, flag: str = "--help") -> str:
    with pytest.raises(SystemExit) as exited:
        importlib.import_module(f"pipelines.{command}").run([flag])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_the_command_options_and_where_the_runner_options_are(command, capsys):
    flags, beam = COMMANDS[command]
    text = help_of(command, capsys)
    assert text.startswith(f"usage: python -m pipelines.{command} ")
    for flag in flags:
        assert f"  {flag}" in text, flag
    assert ("--help_beam" in text and options.BEAM_OPTIONS_URL in text) == beam


def test_help_shows_the_defaults():
    parser = options.parser("probe", "", beam=False)
    options.add_input_limits(parser)
    options.add_batching(parser)
    text = parser.format_help()
    assert "(default: 64.0)" in text and "(default: 64)" in text and "(default: 0)" in text


def test_help_beam_lists_the_runners_options(capsys):
    text = help_of("label", capsys, "--help_beam")
    for flag in ("--runner", "--streaming", "--direct_running_mode", "--project", "--dask_client_address"):
        assert f"  {flag}" in text, flag


ROOT = pathlib.Path(support.REPO_ROOT)


# Flags with one meaning in every command that takes them (train's --batch_size is another thing).
SHARED = ("--debug", "--max_file_mb", "--max_pixels", "--allow_outside_root", "--model_dir", "--threshold",
          "--decode_threads")


def test_shared_flags_are_declared_once():
    declared: dict[str, list[str]] = {}
    for path in sorted((ROOT / "pipelines").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument" and node.args:
                flag = getattr(node.args[0], "value", None)
                declared.setdefault(flag, []).append(path.name)
    assert {flag: declared.get(flag) for flag in SHARED} == {flag: ["options.py"] for flag in SHARED}


def test_label_keeps_its_flags_and_hands_the_rest_to_beam():
    argv = ["--runner=DirectRunner", "--model_dir", "m", "--input", "in/", "--output", "out/labels", "--streaming",
            "--threshold", "0.4", "--direct_running_mode=multi_processing", "--direct_num_workers", "2",
            "--allowed_prefix", "gs://a/", "--allowed_prefix", "gs://b/", "--dask_client_address=tcp://h:8786"]
    args, beam_args = label.parse_args(argv)
    assert (args.model_dir, args.input, args.output, args.streaming, args.threshold) == (
        "m",
        "in/",
        "out/labels",
        True,
        0.4,
    )
    assert args.allowed_prefix == ["gs://a/", "gs://b/"] and args.batch_size == 64 and args.max_file_mb == 64.0
    assert beam_args == ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers", "2",
                         "--dask_client_address=tcp://h:8786", "--streaming"]
    pipeline_options = PipelineOptions(beam_args)
    assert pipeline_options.view_as(StandardOptions).streaming
    assert pipeline_options.view_as(DirectOptions).direct_num_workers == 2


def test_a_missing_required_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        label.parse_args(["--model_dir", "m", "--input", "in/"])
    assert exited.value.code == 2 and "--output" in capsys.readouterr().err


def documented_command_lines(path: str) -> list[tuple[str, list[str]]]:
    """(command, argv) of every `python -m pipelines.X` line in the fenced shell blocks of a document."""
    commands, block, language = [], None, ""
    for line in (ROOT / path).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            block, language = (None, "") if block is not None else ([], line[3:].strip())
            continue
        if block is None or language not in ("", "bash", "sh"):
            continue
        block.append(line)
        if line.endswith("\\"):
            continue
        words = shlex.split(" ".join(part.rstrip("\\") for part in block), comments=True)
        block.clear()
        if words[:2] == ["python", "-m"] and words[2].startswith("pipelines."):
            commands.append((words[2].removeprefix("pipelines."), words[3:]))
    return commands


def test_readme_command_lines_parse(capsys):
    documented = documented_command_lines("README.md")
    assert {command for command, _ in documented} >= {"ingest", "train", "label", "evaluate", "serve", "ship"}
    for command, argv in documented:
        parsed = importlib.import_module(f"pipelines.{command}").parse_args(argv)
        if isinstance(parsed, tuple):  # a Beam pipeline: every flag it does not take must be a Beam option
            beam_help = help_of(command, capsys, "--help_beam")
            for flag in (f.split("=")[0] for f in parsed[1] if f.startswith("--")):
                assert re.search(rf"\s{flag}[\s=,]", beam_help), (command, flag)
        if command == "train":
            train.load_spec(parsed)  # the model type is an entry of the model config
    args, beam_args = ingest.parse_args(
        [
            "--runner=DirectRunner",
            "--config",
            "configs/ingest_demo.yaml",
            "--output_dir",
            "DIR",
            "--debug",
            "--max_file_mb",
            "8",
            "--allow_outside_root",
            "--direct_running_mode=multi_processing",
            "--direct_num_workers=2",
        ]
    )
    assert (args.config, args.output_dir, args.debug, args.max_file_mb, args.allow_outside_root) == (
        ["configs/ingest_demo.yaml"], "DIR", True, 8.0, True)  # --config repeats: a list
    assert beam_args == ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    args, beam_args = evaluate.parse_args(["--model_dir", "D", "--data_dir", "R", "--threshold", "0.5",
                                           "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"])
    assert (args.data_dir, args.threshold, beam_args) == (
        "R",
        0.5,
        ["--runner=apache_beam.runners.dask.dask_runner.DaskRunner"],
    )
    args = train.parse_args(
        ["--model_type", "demo", "--epochs", "2", "--batch_size", "16", "--weights", "null", "--seed", "3"]
    )
    assert (args.model_type, args.epochs, args.batch_size, args.weights, args.seed) == ("demo", 2, 16, "null", 3)
    args = serve.parse_args(["--model_dir", "D", "--allowed_root", "a", "--allowed_root", "b", "--max_batch", "1"])
    assert (args.allowed_root, args.max_batch, args.port) == (["a", "b"], 1, serve.DEFAULT_PORT)


def test_evaluate_hands_its_labelling_flags_to_label():
    args, _ = evaluate.parse_args(["--model_dir", "D", "--data_dir", "R", "--allow_outside_root", "--batch_size", "8",
                                   "--decode_threads", "1", "--max_file_mb", "2"])
    forwarded = evaluate.labelling_options(args, "R", "out/p")
    assert (forwarded.input, forwarded.output, forwarded.streaming, forwarded.sort_into) == ("R", "out/p", False, None)
    assert (forwarded.batch_size, forwarded.decode_threads, forwarded.max_file_mb, forwarded.allow_outside_root) == (
        8,
        1,
        2.0,
        True,
    )


@pytest.mark.parametrize("text, expected", [("0.2,0.8", (0.2, 0.8)), ("off", (0.0, 0.0)), (" 0.5,0.5", (0.5, 0.5))])
def test_review_band_flag_parses(text, expected):
    assert options.review_band(text) == expected


@pytest.mark.parametrize("text", ["0.8,0.2", "0.5", "a,b", "-0.1,0.5", "0.2,1.5"])
def test_a_bad_review_band_is_refused_with_the_expected_form(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="LOW"):
        options.review_band(text)


def test_max_pixels_takes_a_pixel_count_in_any_notation():
    parser = options.parser("probe", "", beam=False)
    options.add_input_limits(parser)
    assert parser.parse_args([]).max_pixels == 50_000_000
    assert parser.parse_args(["--max_pixels", "2.5e6"]).max_pixels == 2_500_000
    for bad in ("0", "-1", "many", "inf"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--max_pixels", bad])


@pytest.mark.parametrize("command, argv, hint", [
    ("label", ["--input", "in/", "--output", "out/l", "--treshold", "0.9"], "--threshold"),
    ("label", ["--input", "in/", "--output", "out/l", "--sort-into", "sorted/"], "--sort_into"),
    ("label", ["--input", "in/", "--output", "out/l", "--runer=DirectRunner"], "--runner"),
    ("evaluate", ["--data_dir", "d/", "--output-dir", "o/"], "--output_dir"),
    ("ingest", ["--confg", "c.yaml"], "--config"),
])
def test_a_flag_that_is_neither_the_command_nor_beam_is_refused_with_the_nearest(command, argv, hint, capsys):
    with pytest.raises(SystemExit) as exited:
        importlib.import_module(f"pipelines.{command}").parse_args(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "unrecognized arguments" in err and f"did you mean {hint}?" in err


@pytest.mark.parametrize("extra, expected", [
    (["extra"], "unrecognized arguments: extra"),
    (["--direct_num_workers", "two"], "argument --direct_num_workers: invalid int value: 'two'"),
])
def test_a_stray_word_and_a_bad_beam_value_are_usage_errors(extra, expected, capsys):
    with pytest.raises(SystemExit) as exited:
        label.parse_args(["--input", "in/", "--output", "o", *extra])
    assert exited.value.code == 2 and expected in capsys.readouterr().err


BEAM_FLAGS = [  # every installed runner's options, with and without '='
    "--runner", "DataflowRunner", "--project=p", "--region", "europe-west1", "--temp_location=gs://b/tmp",
    "--setup_file", "./setup.py", "--experiments=use_runner_v2", "--experiments", "x",
    "--direct_running_mode=multi_processing", "--direct_num_workers", "2",
    "--runner=apache_beam.runners.dask.dask_runner.DaskRunner", "--dask_client_address", "tcp://h:8786",
    "--flink_master=localhost:8081", "--save_main_session",
]


@pytest.mark.parametrize("command, own", [
    ("label", ["--input", "in/", "--output", "o"]), ("evaluate", ["--data_dir", "d/"]), ("ingest", []),
])
def test_beam_options_of_every_installed_runner_pass_through(command, own):
    _, beam_args = importlib.import_module(f"pipelines.{command}").parse_args([*own, *BEAM_FLAGS])
    assert beam_args == BEAM_FLAGS


def test_train_and_serve_name_the_nearest_flag_too(capsys):
    for module, argv, hint in ((train, ["--model_typ", "demo"], "--model_type"), (serve, ["--hots=a"], "--host")):
        with pytest.raises(SystemExit) as exited:
            module.parse_args(argv)
        assert exited.value.code == 2 and f"did you mean {hint}?" in capsys.readouterr().err


def test_default_configs_are_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("model_config.yaml", "ingest.yaml", "ingest_demo.yaml"):
        path = options.shipped_config(name)
        assert os.path.isabs(path) and os.path.isfile(path), path
    assert train.parse_args(["--model_type", "demo"]).config == options.shipped_config("model_config.yaml")
    assert ingest.parse_args([])[0].config == [options.shipped_config("ingest.yaml")]
