"""pipelines.train's command line: refusals before any work, and overrides reaching the spec."""
import pytest

from core import features
from models import trainer
from models.spec import SpecError
from pipelines import train


def test_class_weights_follow_the_spec():
    import dataclasses

    from models.spec import load_model_spec

    spec = load_model_spec(train.DEFAULT_MODEL_CONFIG, "demo")
    counts = {features.CHART: 30, features.NON_CHART: 10}
    balanced = trainer.class_weights(dataclasses.replace(spec, class_weights="balanced"), counts)
    assert balanced == {features.LABEL_IDS[features.CHART]: 40 / 60, features.LABEL_IDS[features.NON_CHART]: 40 / 20}
    assert trainer.class_weights(dataclasses.replace(spec, class_weights=None), counts) is None


def test_missing_model_type_prints_the_documented_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.run([])
    assert exit_info.value.code != 0
    assert train.MISSING_MODEL_TYPE in capsys.readouterr().err


@pytest.mark.parametrize("model_type", ["../escape", "/abs/path", "a/b", ".hidden"])
def test_model_type_cannot_name_a_folder_outside_base_dir(model_type):
    with pytest.raises(ValueError, match="must be a plain name"):
        train.run(["--model_type", model_type])


def test_unknown_model_type_lists_the_available_ones():
    with pytest.raises(SpecError) as err:
        train.run(["--model_type", "no-such-model"])
    for name in ("mobile", "custom-1", "demo"):
        assert name in str(err.value)


def test_data_dir_without_ingest_output_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        train.run(["--model_type", "demo", "--data_dir", str(tmp_path)])
    assert "pipelines.ingest" in str(err.value)


def test_command_line_overrides_reach_the_spec():
    spec = train.load_spec(
        train.parse_args(["--model_type", "mobile", "--weights", "null", "--epochs", "3", "--batch_size", "8"])
    )
    assert (spec.weights, spec.epochs, spec.batch_size, spec.base_model) == (None, 3, 8, "MobileNetV3Small")
    assert train.load_spec(train.parse_args(["--model_type", "mobile"])).weights == "imagenet"
