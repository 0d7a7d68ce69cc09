"""RunInference's model updates with our handler: a side input naming a run directory switches the model, and
WatchRuns names each run `latest` points to once."""
import threading

import apache_beam as beam
from apache_beam.ml.inference.base import KeyedModelHandler, ModelMetadata, RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.utils.timestamp import Timestamp

from core import runs
from models.inference import SavedModelHandler
from models.run import LoadedRun
from pipelines import label, labelling
from pipelines.streaming import WatchRuns
from tests.support.images import image_bytes
from tests.support.runs import ship_copy
from transforms.image import prepare

WINDOW_S = 10


def test_a_side_input_naming_a_new_run_switches_the_model_and_the_rule(trained, tmp_path):
    models = str(tmp_path / "demo")
    old_dir = ship_copy(trained["summary"]["model_dir"], models, "run_old", 0.5)
    new_dir = ship_copy(trained["summary"]["model_dir"], models, "run_new", 0.0)
    run = LoadedRun.open(old_dir)
    pixels = prepare(image_bytes(3), run.image_size).pixels.tobytes()
    keys = [labelling.ImageKey(f"{t}.png", "0" * 64, 32, 32) for t in (5, 15, 25)]
    # As Beam's own test of model updates: windowed side input, one ModelMetadata per window ("": the handler's run).
    updates = [(0, ""), (10, new_dir), (20, new_dir)]
    with TestPipeline("FnApiRunner") as p:
        side = (p | "Updates" >> beam.Create(updates)
                | "StampUpdates" >> beam.Map(lambda u: window.TimestampedValue(ModelMetadata(u[1], u[1]), u[0]))
                | "WindowUpdates" >> beam.WindowInto(window.FixedWindows(WINDOW_S)))
        results = (p | "Images" >> beam.Create(keys)
                   | "Stamp" >> beam.Map(lambda k: window.TimestampedValue((k, pixels), int(k.uri.split(".")[0])))
                   | "Window" >> beam.WindowInto(window.FixedWindows(WINDOW_S))
                   | RunInference(KeyedModelHandler(SavedModelHandler(run)), model_metadata_pcoll=side)
                   | beam.ParDo(labelling.ToResult(run)).with_outputs(labelling.REJECTED, main="results"))
        assert_that(results.results | beam.Map(lambda r: (r["uri"], r["run_id"], r["label"])), equal_to([
            ("5.png", "run_old", "chart" if _score(run, pixels) >= 0.5 else "non_chart"),
            ("15.png", "run_new", "chart"), ("25.png", "run_new", "chart")]))


def _score(run: LoadedRun, pixels: bytes) -> float:
    return float(run.scorer()([pixels])[0])


def test_watch_runs_names_each_run_latest_points_to_once(trained, tmp_path):
    models = str(tmp_path / "demo")
    old_dir = ship_copy(trained["summary"]["model_dir"], models, "run_old", 0.5)
    run = LoadedRun.open(models)
    new_dir = str(tmp_path / "demo" / "run_new")
    threading.Timer(6.0, ship_copy, (old_dir, models, "run_new", 0.4)).start()  # after the pipeline's start
    with TestPipeline("FnApiRunner") as p:
        named = (p | WatchRuns(run, 0.5, Timestamp.now() + 12)
                 | beam.WindowInto(window.GlobalWindows())
                 | beam.Map(lambda m: (m.model_id, m.model_name)))
        assert_that(named, equal_to([(old_dir, "run_old"), (new_dir, "run_new")]))
    assert runs.resolve_model_dir(models) == new_dir


def test_a_streaming_job_elsewhere_than_the_direct_runner_takes_new_runs_as_a_side_input(trained, tmp_path):
    models = str(tmp_path / "demo")
    ship_copy(trained["summary"]["model_dir"], models, "run_old", 0.5)
    run = LoadedRun.open(models)
    opts = label.LabelOptions(input=str(tmp_path / "inbox"), output=str(tmp_path / "out"), streaming=True)
    labels = {}
    for runner in ("DirectRunner", "FlinkRunner"):
        p = beam.Pipeline(options=PipelineOptions([f"--runner={runner}", "--streaming"]))
        label.build_pipeline(p, opts, run)
        labels[runner] = _full_labels(p)
    assert not any("WatchRuns" in name for name in labels["DirectRunner"])
    assert "LabelFiles/Label/WatchRuns" in labels["FlinkRunner"], sorted(labels["FlinkRunner"])


def _full_labels(p: beam.Pipeline) -> set[str]:
    class Labels(PipelineVisitor):
        def __init__(self):
            self.seen = set()

        def enter_composite_transform(self, node):
            self.seen.add(node.full_label)

        def visit_transform(self, node):
            self.seen.add(node.full_label)

    visitor = Labels()
    p.visit(visitor)
    return visitor.seen
