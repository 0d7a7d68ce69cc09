"""Train: a Keras model from the YAML spec, on ingest's TFRecords, exported for serving.

Reads in the TFX order: transform output -> input datasets -> model -> fit -> evaluate (threshold on
val, metrics on test) -> export -> reports. Command line: `python -m pipelines.train --help`, README.
"""
import argparse
import dataclasses
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Optional

import numpy as np

from core import features, runs, storage
from pipelines import cli, options

DEFAULT_MODEL_CONFIG = "configs/model_config.yaml"
MISSING_MODEL_TYPE = "Error: The --model_type argument is required for the train subcommand."
MODEL_TYPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a folder name: never '..', '/abs' or 'a/b'



def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = options.parser("train", __doc__.split("\n\n")[0], beam=False)
    parser.add_argument("--model_type", help="Model entry in the config (e.g. demo, mobile, chart-cnn). Required.")
    parser.add_argument("--config", default=DEFAULT_MODEL_CONFIG, help="Model spec YAML.")
    parser.add_argument("--data_dir", default=None, help="An ingest output directory (default: $BASE_DIR/ingest).")
    parser.add_argument("--epochs", type=int, default=None, help="Override the spec's epochs.")
    parser.add_argument("--batch_size", type=int, default=None, help="Override the spec's batch_size.")
    parser.add_argument("--weights", default=None,
                        help="Override the spec's weights: imagenet, null (from scratch) or a local weights file.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed for shuffling and initialisation.")
    parser.add_argument("--review_target", type=float, default=0.99,
                        help="The review band recorded with the model leaves to a person the scores needed for this "
                             "accuracy on the rest of the val split.")
    return parser.parse_args(argv)


def new_run_id() -> str:
    """Like 20250127_171226_c6b8dd01: sortable by time, unique by the suffix."""
    return f"{datetime.now(timezone.utc):%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"


def load_spec(args: argparse.Namespace):
    """The validated spec with command-line overrides applied (fails before any work)."""
    from models.spec import load_model_spec

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
    spec = dataclasses.replace(spec, **overrides)
    if spec.base_model and spec.weights is None and not spec.trainable:
        logging.warning("%s: a base model without pretrained weights and trainable: false stays random; "
                        "only the head learns. Set trainable: true to train it from scratch.", spec.model_type)
    return spec


def class_weights(spec, counts: dict) -> Optional[dict]:
    """Per-label weights from the spec: null, 'balanced' (from the train counts), or explicit per label."""
    if not spec.class_weights:
        return None
    if spec.class_weights == "balanced":
        total = sum(counts.values())
        return {features.LABEL_IDS[label]: total / (len(counts) * max(n, 1)) for label, n in counts.items()}
    return {features.LABEL_IDS[label]: float(w) for label, w in spec.class_weights.items()}


def callbacks(spec, run_dir: str, checkpoint=None) -> list:
    """History log, early stopping and the best-epoch checkpoint. With `optimizer_args: {use_ema: true}`
    validation, early stopping and the checkpoint all see the averaged (EMA) weights, so the kept model is
    the best averaged one rather than the raw weights of its epoch. A later phase passes the first phase's
    `checkpoint` (it remembers the best so far) and appends to the same history.csv."""
    import keras

    history_csv = storage.join(run_dir, runs.HISTORY_FILE)
    result = [keras.callbacks.CSVLogger(history_csv, append=checkpoint is not None)]
    if spec.optimizer_args.get("use_ema"):
        result.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))  # before the callbacks that read weights
    if spec.early_stopping:
        result.append(keras.callbacks.EarlyStopping(**spec.early_stopping))
    if spec.checkpoint:
        monitor = (spec.early_stopping or {}).get("monitor", "val_loss")
        result.append(
            checkpoint
            or keras.callbacks.ModelCheckpoint(
                storage.join(run_dir, runs.BEST_CHECKPOINT_FILE), monitor=monitor, save_best_only=True
            )
        )
    return result


def fit(model, spec, train_ds, val_ds, run_dir: str) -> tuple[dict, int]:
    """Fit, then the optional fine-tuning phase (base unfrozen, lower learning rate). Returns the merged
    history and the 0-based epoch whose weights the model ends with (the one exported).

    Class and source weights come with the data as sample weights (see models.data).
    """
    import keras

    from models.builder import start_fine_tuning

    phase = callbacks(spec, run_dir)
    history = model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=phase, verbose=2).history
    if spec.fine_tune and spec.base_model:
        done = len(history["loss"])
        start_fine_tuning(model, spec)
        checkpoint = next((c for c in phase if isinstance(c, keras.callbacks.ModelCheckpoint)), None)
        phase = callbacks(spec, run_dir, checkpoint)
        more = model.fit(train_ds, validation_data=val_ds, initial_epoch=done, epochs=done + spec.fine_tune.epochs,
                         callbacks=phase, verbose=2).history
        history = {k: history.get(k, []) + more.get(k, []) for k in history}
    stopper = next((c for c in phase if isinstance(c, keras.callbacks.EarlyStopping)), None)
    restored = stopper is not None and stopper.restore_best_weights and stopper.best_weights is not None
    return history, (stopper.best_epoch if restored else len(history["loss"]) - 1)


def label_weights(batch: dict, per_label: Optional[dict]) -> tuple[np.ndarray, np.ndarray]:
    """A raw batch's labels, and sample weights as training uses them (source weight x class weight)."""
    labels = batch[features.LABEL_KEY].astype(int)
    per = np.array([(per_label or {}).get(i, 1.0) for i in range(len(features.LABEL_NAMES))])
    return labels, batch[features.WEIGHT_KEY] * per[labels]


def fit_trees(spec, files: list[str], transform_output, image_size: int, per_label: Optional[dict], seed: int):
    """The ensemble's boosted trees, fitted on the train split's descriptors (sample-weighted as the network)."""
    from models import boosted
    from models.data import raw_batches
    from transforms.descriptors import describe_prepared

    rows, labels, weights = [], [], []
    for batch in raw_batches(files, transform_output, spec.batch_size):
        rows.append(describe_prepared(batch[features.IMAGE_KEY], image_size))
        y, w = label_weights(batch, per_label)
        labels.append(y)
        weights.append(w)
    trees = boosted.fit(np.concatenate(rows), np.concatenate(labels), np.concatenate(weights),
                        spec.boosted_trees.arguments, seed)
    if not trees.feature_importance("gain").any():
        logging.warning("The boosted trees found no split in the train split (too few images for LightGBM's "
                        "min_child_samples): they add a constant, and the ranking is the network's alone.")
    return trees


def scores_labels_weights(model, files: list[str], transform_output, batch_size: int):
    """The exported model's chart scores over a split's records (exactly what labelling gives for the same
    files), with each image's label and source weight."""
    from models.data import raw_batches

    scores, labels, weights = [np.zeros(0)], [np.zeros(0, int)], [np.zeros(0)]
    for batch in raw_batches(files, transform_output, batch_size):
        scores.append(model(list(batch[features.IMAGE_KEY])))
        y, w = label_weights(batch, None)
        labels.append(y)
        weights.append(w)
    return np.concatenate(scores), np.concatenate(labels), np.concatenate(weights)


def run(argv: Optional[list[str]] = None) -> dict:
    """Train one model end to end; returns the training summary."""
    args = parse_args(argv)
    cli.setup_logging(args.debug)
    spec = load_spec(args)

    import keras
    import tensorflow_transform as tft

    from models import boosted, export, reports
    from models.builder import build_model
    from models.data import make_dataset, split_files
    from models.inference import RunModel, load_signature
    from models.metrics import binary_metrics, choose_review_band, choose_threshold, selective

    keras.utils.set_random_seed(args.seed)
    base = cli.base_dir()
    data_dir = args.data_dir or storage.join(base, "ingest")
    transform_dir = storage.join(data_dir, features.TRANSFORM_DIR)
    if not storage.exists(transform_dir):
        raise FileNotFoundError(
            f"--data_dir {data_dir} holds no tf.Transform output ({transform_dir}). Run ingest first: "
            "python -m pipelines.ingest --runner=DirectRunner --config configs/ingest_demo.yaml"
        )
    transform_output = tft.TFTransformOutput(transform_dir)
    feature_spec = transform_output.transformed_feature_spec()
    ingest_summary = reports.read_json(storage.join(data_dir, features.SUMMARY_FILE))
    files = {split: split_files(data_dir, split) for split in features.SPLITS}
    weights = {
        features.TRAIN: class_weights(spec, ingest_summary["counts"][features.TRAIN])
    }  # val, test: source weights only
    datasets = {
        split: make_dataset(
            files[split],
            transform_output,
            spec.batch_size,
            training=split == features.TRAIN,
            seed=args.seed,
            class_weights=weights.get(split),
        )
        for split in (features.TRAIN, features.VAL)
    }

    model = build_model(spec, tuple(feature_spec[features.IMAGE_KEY].shape))
    run_id = new_run_id()
    model_type_dir = runs.model_type_dir(base, spec.model_type)
    run_dir = storage.join(model_type_dir, run_id)
    storage.makedirs(run_dir)
    n_train = sum(ingest_summary["counts"][features.TRAIN].values())
    logging.info("Training %s (run %s) on %d images from %s", spec.model_type, run_id, n_train, data_dir)
    started = time.monotonic()
    history, kept_epoch = fit(model, spec, datasets[features.TRAIN], datasets[features.VAL], run_dir)
    train_seconds = time.monotonic() - started

    model.save(storage.join(run_dir, spec.file_name))
    image_size = int(feature_spec[features.IMAGE_KEY].shape[0])
    export.export_saved_model(model, transform_output, run_dir)
    exported, ensemble = RunModel(load_signature(run_dir), image_size), {}
    if spec.boosted_trees:
        exported.trees = fit_trees(spec, files[features.TRAIN], transform_output, image_size, weights[features.TRAIN],
                                   args.seed)
        exported.weight, exported.combine = spec.boosted_trees.weight, spec.boosted_trees.combine
        ensemble[runs.BOOSTED_TREES_KEY] = boosted.save(exported.trees, run_dir, exported.weight, exported.combine)
    val_scores, val_labels, val_weights = scores_labels_weights(exported, files[features.VAL], transform_output,
                                                                spec.batch_size)
    threshold = choose_threshold(val_labels, val_scores, val_weights)
    test_scores, test_labels, _ = scores_labels_weights(exported, files[features.TEST], transform_output,
                                                        spec.batch_size)
    review_band = choose_review_band(val_labels, val_scores, threshold, args.review_target, val_weights)
    test_metrics = binary_metrics(test_labels, test_scores, threshold)
    test_metrics.update(selective(test_labels, test_scores, threshold, review_band))

    runs.write_metadata(
        run_dir,
        {
            "run_id": run_id,
            "model_type": spec.model_type,
            "positive_label": features.CHART,
            "label_names": list(features.LABEL_NAMES),
            "score": "probability that the image is a chart",
            "threshold": threshold,
            "threshold_source": "chosen on the val split: nearest 0.5 within one standard error of the best "
                                "source-weighted accuracy",
            runs.REVIEW_BAND_KEY: list(review_band),
            "review_band_source": f"chosen on the val split: source-weighted accuracy >= {args.review_target} "
                                  "outside it, on each side of the threshold",
            "image_size": image_size,
            **ensemble,
            "keras_file": spec.file_name,
            "serving_signature": {"input": runs.SERVING_INPUT, "output": runs.SERVING_OUTPUT},
            "data": {
                "data_dir": data_dir,
                "sources": ingest_summary.get("sources"),
                "counts": ingest_summary["counts"],
            },
            "test_metrics": test_metrics,
        },
    )
    runs.point_latest(model_type_dir, run_id)

    epochs_run = len(history["loss"])
    best = kept_epoch  # the epoch whose weights were exported (early stopping's best by its monitor, or the last)
    summary = {
        "run_id": run_id,
        "model_type": spec.model_type,
        "final_training_accuracy": history["accuracy"][-1],
        "final_validation_accuracy": history["val_accuracy"][-1],
        "final_training_loss": history["loss"][-1],
        "final_validation_loss": history["val_loss"][-1],
        "epochs": epochs_run,
        "best_epoch": best + 1,
        "best_validation_accuracy": history["val_accuracy"][best],
        "test_metrics": test_metrics,
        "threshold": threshold,
        "review_band": list(review_band),
        "train_seconds": round(train_seconds, 2),
        "train_images_per_second": round(n_train * epochs_run / max(train_seconds, 1e-9), 1),
        "model_dir": run_dir,
        "data_dir": data_dir,
    }
    write_reports(summary, history, test_labels, test_scores, base, exported.trees)
    logging.info(
        "Model: %s | test accuracy %.4f, F1 %.4f at threshold %.3f | reports: %s",
        run_dir,
        test_metrics["accuracy"],
        test_metrics["f1"],
        threshold,
        storage.join(base, "reports", spec.model_type),
    )
    return summary


def write_reports(summary: dict, history: dict, test_labels, test_scores, base: str, trees=None) -> None:
    """Plots, training_summary_<run_id>.json and the leaderboard under $BASE_DIR/reports/ (and, for an
    ensemble, what its boosted trees weigh most)."""
    from models import reports

    run_id, model_type = summary["run_id"], summary["model_type"]
    reports_dir = storage.join(base, "reports")
    plots = storage.join(reports_dir, model_type, "plots")
    title = f"{model_type} {run_id}"
    reports.plot_history(
        history,
        "accuracy",
        storage.join(plots, f"accuracy_plot_{run_id}.png"),
        f"Accuracy: {title}",
        summary["best_epoch"],
    )
    reports.plot_history(
        history, "loss", storage.join(plots, f"loss_plot_{run_id}.png"), f"Loss: {title}", summary["best_epoch"]
    )
    reports.plot_roc_pr(
        test_labels,
        test_scores,
        summary["threshold"],
        storage.join(plots, f"roc_pr_plot_{run_id}.png"),
        f"Test split, {title}",
    )
    reports.plot_confusion(
        summary["test_metrics"]["confusion_matrix"]["matrix"],
        storage.join(plots, f"confusion_matrix_{run_id}.png"),
        f"Test split at threshold {summary['threshold']:.2f}\n{title}",
    )
    if trees is not None:
        reports.plot_descriptor_importance(trees.feature_name(), trees.feature_importance("gain"),
                                           storage.join(plots, f"descriptor_importance_{run_id}.png"),
                                           f"Boosted trees: {title}")
    reports.write_json(storage.join(reports_dir, model_type, f"training_summary_{run_id}.json"), summary)
    metrics = summary["test_metrics"]
    reports.update_leaderboard(
        reports_dir,
        {
            "model_type": model_type,
            "run_id": run_id,
            **{k: metrics[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "threshold")},
            "epochs": summary["epochs"],
            "train_seconds": summary["train_seconds"],
        },
    )


if __name__ == "__main__":
    cli.main("pipelines.train")
