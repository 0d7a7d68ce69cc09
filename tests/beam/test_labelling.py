"""pipelines.labelling on Beam: refused images, --sort_into copies."""
import hashlib
import os

from core import dead_letters, features
from models.run import LoadedRun
from pipelines import labelling
from tests.support.images import image_bytes


def test_an_image_the_model_refuses_is_dead_lettered_and_its_batch_still_labelled(trained):
    """RunInference with a batch holding one input the SavedModel refuses (pixels of the wrong size)."""
    import apache_beam as beam
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from models.inference import SavedModelHandler
    from transforms.image import prepare

    run_dir = trained["summary"]["model_dir"]
    model = LoadedRun.open(run_dir)
    good = [
        (labelling.ImageKey(f"good{i}.png", "0" * 64, 96, 64),
         prepare(image_bytes(i), model.image_size).pixels.tobytes())
        for i in range(3)
    ]
    bad = (labelling.ImageKey("bad.png", "1" * 64, 96, 64), b"not 32x32x3 bytes")
    handler = KeyedModelHandler(SavedModelHandler(model, min_batch_size=4, max_batch_size=4))
    with TestPipeline() as p:
        scored = (
            p
            | beam.Create(good + [bad])
            | RunInference(handler)
            | beam.ParDo(labelling.ToResult(model)).with_outputs(dead_letters.REJECTED, main="results")
        )
        assert_that(scored.results | beam.Map(lambda r: r["uri"]), equal_to(["good0.png", "good1.png", "good2.png"]))
        assert_that(
            scored[dead_letters.REJECTED] | beam.Map(lambda r: (r["uri"], r["reason"])),
            equal_to([("bad.png", "model_error")]),
            label="Refused",
        )


def test_sort_into_copies_only_the_labelled_bytes_and_dead_letters_a_failed_copy(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    same, changed = tmp_path / "same.png", tmp_path / "changed.png"
    same.write_bytes(image_bytes(1))
    changed.write_bytes(image_bytes(2))
    results = [
        {"uri": str(path), "label": features.CHART, "review": False,
         "sha256": hashlib.sha256(image_bytes(1)).hexdigest()}
        for path in (same, changed)
    ]
    (tmp_path / "blocked").write_text("a file where the sorted folder should be")
    with TestPipeline() as p:
        sorted_ok = (
            p | "Ok" >> beam.Create(results) | "SortOk" >> beam.ParDo(labelling.CopyInto(str(tmp_path / "sorted"), 64))
        )
        blocked = (
            p
            | "Blocked" >> beam.Create(results[:1])
            | "SortBlocked" >> beam.ParDo(labelling.CopyInto(str(tmp_path / "blocked"), 64))
        )
        assert_that(
            sorted_ok | beam.Map(lambda r: (os.path.basename(r["uri"]), r["reason"])),
            equal_to([("changed.png", "changed_since_labelled")]),
        )
        assert_that(blocked | beam.Map(lambda r: r["reason"]), equal_to(["sort_failed"]), label="Failed")
    copies = list((tmp_path / "sorted" / features.CHART).iterdir())
    assert [p.read_bytes() for p in copies] == [image_bytes(1)]
    assert not list((tmp_path / "sorted").rglob("*.part"))
