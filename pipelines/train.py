"""Train: a Keras model from the YAML spec, on ingest's TFRecords, exported for serving.

The command line of models.trainer (TFX's order: transform output -> datasets -> model -> fit -> export ->
threshold on val, metrics on test -> reports): `python -m pipelines.train --help`, README.
"""
import argparse
import dataclasses
import logging
import re
import sys
from typing import Optional

from core import storage
from models.determinism import make_deterministic
from pipelines import cli, options

DEFAULT_MODEL_CONFIG = options.shipped_config("model_config.yaml")
MISSING_MODEL_TYPE = "Error: The --model_type argument is required for the train subcommand."
MODEL_TYPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a folder name: never '..', '/abs' or 'a/b'



def model_types_epilog(config: str) -> str:
    """--help's list of the config's model types, and which need ImageNet weights."""
    from models.spec import load_specs

    try:
        specs = load_specs(config)
    except (OSError, ValueError) as err:
        return f"Model types: cannot read {config} ({err})."
    lines = [f"Model types in {config}:"]
    for name, raw in specs.items():
        if raw.get("base_model") and raw.get("weights", "imagenet") == "imagenet":
            kind = f"{raw['base_model']}, needs ImageNet weights (see below)"
        elif raw.get("base_model"):
            kind = f"{raw['base_model']}, weights: {raw.get('weights')}"
        else:
            kind = "a small network of its own, trains from scratch offline"
        lines.append(f"  {name:<15} {kind}")
    lines += ["",
              "ImageNet weights are downloaded once from storage.googleapis.com into ~/.keras/models (no network:",
              "copy the file there); train stops at once when they can be had neither way. --weights null trains such",
              "a type from scratch: the whole network, BatchNorm included, and no fine-tuning phase (that is for",
              "pretrained bases). From scratch a base model needs many more images and epochs than with ImageNet",
              "weights; on a few thousand images chart-cnn is the better choice. A run whose scores cannot sort images",
              "(val or test ROC AUC <= 0.6, or one score for all) ends with a warning and is marked useless."]
    return "\n".join(lines)


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = options.parser("train", __doc__.split("\n\n")[0], beam=False)
    parser.epilog = model_types_epilog(DEFAULT_MODEL_CONFIG)
    parser.add_argument("--model_type", help="Model entry in the config (listed below). Required.")
    parser.add_argument("--config", default=DEFAULT_MODEL_CONFIG, help="Model spec YAML.")
    parser.add_argument("--data_dir", default=None, help="An ingest output directory (default: $BASE_DIR/ingest).")
    parser.add_argument("--epochs", type=int, default=None, help="Override the spec's epochs.")
    parser.add_argument("--batch_size", type=int, default=None, help="Override the spec's batch_size.")
    parser.add_argument("--weights", default=None,
                        help="Override the spec's weights: imagenet, null (from scratch: the whole network trains) or "
                             "a local weights file.")
    parser.add_argument("--trainable", action=argparse.BooleanOptionalAction, default=None,
                        help="Override the spec's trainable: whether a pretrained base's own weights train too "
                             "(its BatchNorm stays frozen). Without pretrained weights the whole network always "
                             "trains.")
    parser.add_argument("--pretrained_member", action=argparse.BooleanOptionalAction, default=None,
                        help="Override the spec: whether a pretrained member joins the ensemble (a regression on "
                             "frozen MobileNetV2 features, with a say where the score is unsure; pretrained_member in "
                             "docs/CONFIG.md). --pretrained_member adds one with the defaults where the spec has none.")
    parser.add_argument("--refit_member", metavar="RUN_DIR", default=None,
                        help="Train nothing but the pretrained member: a new run with the network and trees of RUN_DIR "
                             "(a run directory or its latest file) and the spec's pretrained_member fitted again on "
                             "the data RUN_DIR trained on (about a minute; --data_dir, --epochs and the network's "
                             "settings do not apply).")
    parser.add_argument("--seed", type=int, default=0, help="Random seed for shuffling and initialisation.")
    parser.add_argument("--review_target", type=float, default=0.99,
                        help="The review band recorded with the model leaves to a person the scores needed for this "
                             "accuracy on the rest of the val split.")
    return parser.parse_args(argv)


def load_spec(args: argparse.Namespace):
    """The validated spec with command-line overrides applied (fails before any work)."""
    from models.spec import PretrainedMember, load_model_spec

    if not args.model_type:
        print(MISSING_MODEL_TYPE, file=sys.stderr)
        raise SystemExit(2)
    if not MODEL_TYPE_NAME.fullmatch(args.model_type):
        raise ValueError(f"--model_type {args.model_type!r} must be a plain name (letters, digits, '.', '_', '-'): "
                         "it names the folder $BASE_DIR/models/<model_type>/")
    spec = load_model_spec(args.config, args.model_type)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size)) if v is not None}
    if args.weights is not None:
        overrides["weights"] = None if args.weights.lower() in ("null", "none") else args.weights
    if args.trainable is not None:
        if not spec.base_model:
            raise ValueError(f"--trainable: model_type {spec.model_type} has no base_model (its layers always train)")
        overrides["trainable"] = args.trainable
    if args.pretrained_member is not None:
        wanted = spec.pretrained_member or PretrainedMember()
        overrides["pretrained_member"] = wanted if args.pretrained_member else None
    spec = dataclasses.replace(spec, **overrides)
    if spec.base_model and not spec.pretrained:
        logging.info("%s: no pretrained weights: the whole network trains from scratch, BatchNorm included%s",
                     spec.model_type, " (no fine-tuning phase)" if spec.fine_tune else "")
    return spec


def run(argv: Optional[list[str]] = None) -> dict:
    """Train one model end to end, or refit a run's pretrained member (models.trainer); returns the summary."""
    args = parse_args(argv)
    cli.setup_logging(args.debug)
    make_deterministic(args.seed)  # first: its thread pools can be fixed only before TensorFlow runs (load_spec does)
    spec = load_spec(args)
    from models import trainer

    base = cli.base_dir()
    if args.refit_member:
        if args.data_dir or args.epochs:
            raise ValueError("--refit_member fits only the member, on the data the run trained on: drop --data_dir "
                             "and --epochs")
        return trainer.refit_member(spec, args.refit_member, base, args.review_target)
    return trainer.run(spec, args.data_dir or storage.join(base, "ingest"), base, args.seed, args.review_target)


if __name__ == "__main__":
    cli.main("pipelines.train")
