"""Session fixtures: the real sample, a small demo ingest, one short training run (the one `model_dir`), and one
with the pretrained member joined."""
import os

import pytest

from tests.support import REAL_SAMPLE


@pytest.fixture(scope="session")
def real_sample() -> str:
    if not os.path.isdir(REAL_SAMPLE):
        pytest.skip(f"real sample not found at {REAL_SAMPLE} (it lives in ../shared beside the checkout)")
    return os.path.abspath(REAL_SAMPLE)


@pytest.fixture(scope="session")
def demo_ingest(tmp_path_factory) -> str:
    """A small ingest output (demo generator, 32 px) shared by the trainer and labeller tests."""
    import yaml

    from pipelines import ingest

    root = tmp_path_factory.mktemp("demo_ingest")
    config = root / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "split": {"train": 0.6, "val": 0.2, "test": 0.2},
                                      "sources": [{"type": "demo", "size": 60, "seed": 11}]}))
    ingest.run(["--runner=DirectRunner", f"--config={config}", f"--output_dir={root / 'out'}"])
    return str(root / "out")


@pytest.fixture(scope="session")
def trained(demo_ingest, tmp_path_factory) -> dict:
    """One short real training run of the shipped `demo` model; its summary and BASE_DIR."""
    from pipelines import train

    base = str(tmp_path_factory.mktemp("base"))
    previous = os.environ.get("BASE_DIR")
    os.environ["BASE_DIR"] = base
    try:
        summary = train.run(["--model_type", "demo", "--data_dir", demo_ingest, "--epochs", "2", "--batch_size", "16"])
    finally:
        if previous is None:
            os.environ.pop("BASE_DIR")
        else:
            os.environ["BASE_DIR"] = previous
    return {"summary": summary, "base": base, "data_dir": demo_ingest}


@pytest.fixture(scope="session")
def model_dir(trained) -> str:
    """The trained run's `latest` file, as a user passes --model_dir."""
    return os.path.join(trained["base"], "models", "demo", "latest")


@pytest.fixture(scope="session")
def member_run(demo_ingest, tmp_path_factory) -> str:
    """A short real `demo` run with the pretrained member joined (the backbone the package ships): its run directory.
    Two epochs leave the ensemble unsure of most images, so the member has its say on them."""
    import dataclasses

    from models import trainer
    from models.spec import PretrainedMember, load_model_spec
    from pipelines.train import DEFAULT_MODEL_CONFIG

    spec = dataclasses.replace(load_model_spec(DEFAULT_MODEL_CONFIG, "demo"), epochs=2, batch_size=16,
                               pretrained_member=PretrainedMember())
    return trainer.run(spec, demo_ingest, str(tmp_path_factory.mktemp("member_base")))["model_dir"]
