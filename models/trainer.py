"""The trainer, in TFX's order: ingest's output -> datasets -> model -> fit -> export -> threshold and review band
on val -> metrics on test -> metadata.json -> reports. `pipelines.train` is its command line."""
import dataclasses
import logging
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np

from core import features, runs, storage
from models import reports
from models.spec import ModelSpec

INGEST_HINT = "python -m pipelines.ingest --runner=DirectRunner --config configs/ingest_demo.yaml"
TENSORBOARD_DIR = "tensorboard"  # <run_dir>/tensorboard/{train,validation}: per-epoch scalars (tensorboard --logdir)
USELESS_AUC = 0.6  # a run whose val or test ROC AUC is at most this is marked useless
RECALIBRATION_BATCHES = 20  # training batches that BatchNorm's statistics are recomputed from (scratch bases)


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """An ingest output as training reads it: the tf.Transform output, the shards and counts of each split."""

    data_dir: str
    transform_output: Any
    files: dict[str, list[str]]
    counts: dict[str, dict[str, int]]
    sources: Optional[list]

    @property
    def image_size(self) -> int:
        return int(self.transform_output.transformed_feature_spec()[features.IMAGE_KEY].shape[0])


@dataclasses.dataclass(frozen=True)
class Scored:
    """A split's scores from the exported model, with each image's label and source weight."""

    scores: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


def run(spec: ModelSpec, data_dir: str, base_dir: str, seed: int = 0, review_target: float = 0.99) -> dict:
    """Train one model end to end; returns the training summary."""
    from models.determinism import make_deterministic

    make_deterministic(seed)
    data = load_data(data_dir)
    run_id, run_dir = new_run(base_dir, spec.model_type)
    logging.info("Training %s (run %s) on %d images from %s; TensorBoard: tensorboard --logdir %s", spec.model_type,
                 run_id, sum(data.counts[features.TRAIN].values()), data_dir, storage.join(run_dir, TENSORBOARD_DIR))
    write_training_images(data, run_dir)
    model, history, kept_epoch, seconds = train(spec, data, run_dir, seed)
    scorer, trees = export(model, spec, data, run_dir, seed)
    member = join_member(scorer, spec, data, run_dir)
    metadata, val, test = record_run(scorer, spec, data, run_id, run_dir, base_dir, review_target, trees, member)
    summary = training_summary(metadata, history, kept_epoch, seconds, data, run_dir, val, test)
    write_reports(summary, history, test.labels, test.scores, base_dir, scorer.trees)
    log_outcome(summary, storage.join(base_dir, "reports", spec.model_type))
    return summary


def refit_member(spec: ModelSpec, source_run: str, base_dir: str, review_target: float = 0.99) -> dict:
    """A new run holding `source_run`'s network and trees and `spec`'s pretrained member fitted again on the data
    the source run trained on, with threshold and review band chosen again on val: what a change to
    pretrained_member does, in a minute rather than a retraining. Returns the new run's summary."""
    from models.run import Scorer

    if not spec.pretrained_member:
        raise ValueError(f"--refit_member: {spec.model_type} has no pretrained_member to fit (give it one in the spec "
                         "or add --pretrained_member)")
    source_run = runs.resolve_model_dir(source_run)
    source = runs.RunMetadata.read(source_run)
    if source.model_type != spec.model_type:
        raise ValueError(f"--refit_member {source_run} is a {source.model_type} run; pass --model_type "
                         f"{source.model_type}")
    try:
        data = load_data(source.data["data_dir"])
    except FileNotFoundError as err:
        raise FileNotFoundError(f"--refit_member {source_run} needs the data it trained on: {err}") from err
    run_id, run_dir = new_run(base_dir, spec.model_type)
    logging.info("Run %s: %s's network and trees, its pretrained member fitted again", run_id, source_run)
    storage.copy_tree(source_run, run_dir,
                      skip=(runs.METADATA_FILE, runs.PRETRAINED_MEMBER_FILE, runs.PRETRAINED_BACKBONE_FILE))
    scorer = Scorer.load(run_dir, dataclasses.replace(source, pretrained_member=None))
    member = join_member(scorer, spec, data, run_dir)
    metadata, val, _ = record_run(scorer, spec, data, run_id, run_dir, base_dir, review_target, source.boosted_trees,
                                  member, keras_file=source.keras_file,
                                  provenance={runs.REFITTED_FROM_KEY: source_run})
    threshold, band = metadata.threshold, metadata.review_band
    logging.info("Refitted: threshold %.3f, review band [%.3f, %.3f), test accuracy %.4f; %s", threshold, *band,
                 metadata.test_metrics.get("accuracy", float("nan")), run_dir)
    return {"run_id": run_id, "model_dir": run_dir, runs.REFITTED_FROM_KEY: source_run, "threshold": threshold,
            "review_band": list(band), "val_metrics": evaluate(val, threshold, band),
            "test_metrics": metadata.test_metrics}


def record_run(scorer, spec: ModelSpec, data: TrainingData, run_id: str, run_dir: str, base_dir: str,
               review_target: float, trees: Optional[dict], member: Optional[dict],
               **recorded) -> tuple[runs.RunMetadata, Scored, Scored]:
    """The run's final scorer on val and test, threshold and band chosen on val, metadata.json (with `recorded`
    fields) written and `latest` pointed at the run. Returns the metadata and the two splits' scores."""
    val, test = score_splits(scorer, data, spec.batch_size)
    threshold, band = calibrate(val, review_target)
    metadata = dataclasses.replace(run_metadata(spec, data, run_id, threshold, band, review_target,
                                                evaluate(test, threshold, band), trees, member), **recorded)
    metadata.write(run_dir)
    runs.point_latest(runs.model_type_dir(base_dir, spec.model_type), run_id)
    return metadata, val, test


def log_outcome(summary: dict, reports_dir: str) -> None:
    """The run's last lines: where it is, its test figures, and a loud warning for each reason it is useless."""
    metrics = summary["test_metrics"]
    logging.info("Model: %s | test accuracy %.4f, F1 %.4f, ROC AUC %s at threshold %.3f | reports: %s",
                 summary["model_dir"], metrics["accuracy"], metrics["f1"], _auc(metrics["roc_auc"]),
                 summary["threshold"], reports_dir)
    for warning in summary["warnings"]:
        logging.warning("USELESS MODEL: %s", warning)


def usefulness_warnings(val: Scored, test: Scored) -> list[str]:
    """Why the run's scores cannot sort images (empty when they can): a val or test ROC AUC at or below
    USELESS_AUC, or constant test scores. Each says what to do."""
    from models.metrics import binary_metrics

    remedy = ("Train longer (--epochs), on more images, or with a model that learns from scratch (e.g. "
              "--model_type chart-cnn); do not label with this model.")
    found = []
    if test.scores.size and np.ptp(test.scores) < 1e-6:
        found.append(f"every test image gets the same score ({test.scores[0]:.4f}): the model tells nothing apart. "
                     + remedy)
    for name, split in (("val", val), ("test", test)):
        auc = binary_metrics(split.labels, split.scores, 0.5)["roc_auc"]
        if auc is not None and auc <= USELESS_AUC:
            found.append(f"{name} ROC AUC {auc:.3f} <= {USELESS_AUC}: it ranks images little better than chance. "
                         + remedy)
    return found


def _auc(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def write_training_images(data: TrainingData, run_dir: str) -> None:
    """runs.TRAINING_IMAGES_FILE: the sorted hex sha256 of every train and val image, one a line (so a later
    evaluation can tell which of its images the model has seen)."""
    from models.data import sha256s

    hashes = sorted({h for split in (features.TRAIN, features.VAL) for h in sha256s(data.files[split])})
    with storage.open_write(storage.join(run_dir, runs.TRAINING_IMAGES_FILE)) as f:
        f.write("".join(f"{h}\n" for h in hashes).encode())


def load_data(data_dir: str) -> TrainingData:
    """ingest's output directory: its tf.Transform output, TFRecord shards and summary."""
    import tensorflow_transform as tft

    from models.data import split_files

    transform_dir = storage.join(data_dir, features.TRANSFORM_DIR)
    if not storage.exists(transform_dir):
        raise FileNotFoundError(
            f"--data_dir {data_dir} holds no tf.Transform output ({transform_dir}). Run ingest first: {INGEST_HINT}")
    summary = reports.read_json(storage.join(data_dir, features.SUMMARY_FILE))
    return TrainingData(data_dir, tft.TFTransformOutput(transform_dir),
                        {split: split_files(data_dir, split) for split in features.SPLITS}, summary["counts"],
                        summary.get("sources"))


def new_run(base_dir: str, model_type: str) -> tuple[str, str]:
    """(run_id, its new directory $BASE_DIR/models/<model_type>/<run_id>)."""
    run_id = new_run_id()
    run_dir = storage.join(runs.model_type_dir(base_dir, model_type), run_id)
    storage.makedirs(run_dir)
    return run_id, run_dir


def train(spec: ModelSpec, data: TrainingData, run_dir: str, seed: int) -> tuple[Any, dict, int, float]:
    """(the fitted Keras model, its history, the 0-based epoch it ends with, seconds spent fitting)."""
    from models.builder import build_model
    from models.data import make_dataset

    per_label = class_weights(spec, data.counts[features.TRAIN])  # val: source weights only
    datasets = {split: make_dataset(data.files[split], data.transform_output, spec.batch_size,
                                    training=split == features.TRAIN, seed=seed,
                                    class_weights=per_label if split == features.TRAIN else None)
                for split in (features.TRAIN, features.VAL)}
    shape = tuple(data.transform_output.transformed_feature_spec()[features.IMAGE_KEY].shape)
    model = build_model(spec, shape)
    started = time.monotonic()
    history, kept_epoch = fit(model, spec, datasets[features.TRAIN], datasets[features.VAL], run_dir)
    return model, history, kept_epoch, time.monotonic() - started


def export(model, spec: ModelSpec, data: TrainingData, run_dir: str, seed: int) -> tuple[Any, Optional[dict]]:
    """The Keras file, the serving SavedModel and (an ensemble) the boosted trees; returns the run's Scorer,
    which scores exactly as labelling will, and the metadata entry of its trees."""
    from models import boosted
    from models.export import export_saved_model
    from models.run import Scorer, load_signature

    model.save(storage.join(run_dir, spec.file_name))
    export_saved_model(model, data.transform_output, run_dir)
    scorer = Scorer(load_signature(run_dir), data.image_size)
    if not spec.boosted_trees:
        return scorer, None
    logging.info("Fitting the boosted trees on the train split's descriptors (%d images)",
                 sum(data.counts[features.TRAIN].values()))
    started = time.monotonic()
    scorer.trees = fit_trees(spec, data.files[features.TRAIN], data.transform_output, data.image_size,
                             class_weights(spec, data.counts[features.TRAIN]), seed)
    logging.info("Boosted trees fitted in %.1f s", time.monotonic() - started)
    scorer.weight, scorer.combine = spec.boosted_trees.weight, spec.boosted_trees.combine
    return scorer, boosted.save(scorer.trees, run_dir, scorer.weight, scorer.combine)


def join_member(scorer, spec: ModelSpec, data: TrainingData, run_dir: str) -> Optional[dict]:
    """The pretrained member (models/member.py) joins the scorer: a regression on the backbone's features of the
    train split's images from sources weighted at least `min_relative_weight` of the heaviest, centred on the
    threshold the val split gives the ensemble before it. Returns its metadata entry (None: none in the spec)."""
    import tensorflow as tf

    from models import member, pretrained
    from models.data import column, raw_batches
    from models.metrics import choose_threshold

    config = spec.pretrained_member
    if not config:
        return None
    started = time.monotonic()
    files = data.files[features.TRAIN]
    weights = column(files, features.WEIGHT_KEY, tf.float32)
    least = config.min_relative_weight * weights.max()
    learned = column(files, features.LABEL_KEY, tf.int64)[weights >= least]  # checked before the backbone converts
    if len(set(learned)) < 2:
        raise ValueError(f"the pretrained member of {spec.model_type} learns the train images of sources weighted at "
                         f"least {least:g}, and all {learned.size} are {features.LABEL_NAMES[learned[0]]}: add images "
                         "of both labels, or lower pretrained_member.min_relative_weight")
    backbone = pretrained.litert_backbone(data.image_size, config.input_size)
    extractor = member.Backbone(backbone)
    rows, labels = [], []
    for batch in raw_batches(files, data.transform_output, spec.batch_size):
        kept = batch[features.WEIGHT_KEY] >= least
        if kept.any():
            pixels = np.frombuffer(b"".join(batch[features.IMAGE_KEY][kept]), np.uint8)
            rows.append(extractor(pixels.reshape(-1, data.image_size, data.image_size, 3)))
            labels.append(batch[features.LABEL_KEY][kept].astype(int))
    labels = np.concatenate(labels)
    val = score_split(scorer, data, features.VAL, spec.batch_size)
    center = choose_threshold(val.labels, val.scores, val.weights)
    regression = member.fit(np.concatenate(rows), labels, config.C)
    scorer.member = member.Member(**regression, weight=config.weight, unsure=config.unsure, center=center,
                                  image_size=data.image_size, input_size=config.input_size, backbone=backbone,
                                  extractor=extractor)
    logging.info("Pretrained member fitted on %d train images (sources weighted at least %g) in %.1f s; it has a "
                 "say on scores in [%g, %g), measured from the ensemble's val threshold %.3f", labels.size, least,
                 time.monotonic() - started, *config.unsure, center)
    return member.save(run_dir, regression, backbone, config.weight, config.unsure, center, config.input_size,
                       int(labels.size))


def score_splits(scorer, data: TrainingData, batch_size: int) -> tuple[Scored, Scored]:
    """The val and test splits scored through the exported run (logged: on a large test split it takes a while)."""
    started = time.monotonic()
    logging.info("Scoring the val and test splits (%d and %d images) through the exported run",
                 sum(data.counts[features.VAL].values()), sum(data.counts[features.TEST].values()))
    val, test = (score_split(scorer, data, split, batch_size) for split in (features.VAL, features.TEST))
    logging.info("Scored in %.1f s", time.monotonic() - started)
    return val, test


def score_split(scorer, data: TrainingData, split: str, batch_size: int) -> Scored:
    """The exported model's chart scores over a split's records (exactly what labelling gives for the same
    files), with each image's label and source weight."""
    from models.data import raw_batches

    scores, labels, weights = [np.zeros(0)], [np.zeros(0, int)], [np.zeros(0)]
    for batch in raw_batches(data.files[split], data.transform_output, batch_size):
        scores.append(scorer(list(batch[features.IMAGE_KEY])))
        y, w = label_weights(batch, None)
        labels.append(y)
        weights.append(w)
    return Scored(np.concatenate(scores), np.concatenate(labels), np.concatenate(weights))


def calibrate(val: Scored, review_target: float) -> tuple[float, tuple[float, float]]:
    """The threshold and review band, both chosen on the val split."""
    from models.metrics import choose_review_band, choose_threshold

    threshold = choose_threshold(val.labels, val.scores, val.weights)
    return threshold, choose_review_band(val.labels, val.scores, threshold, review_target, val.weights)


def evaluate(test: Scored, threshold: float, band: tuple[float, float]) -> dict:
    """The test split's metrics at the threshold, and with the review band left to a person."""
    from models.metrics import binary_metrics, selective

    metrics = binary_metrics(test.labels, test.scores, threshold)
    metrics.update(selective(test.labels, test.scores, threshold, band))
    return metrics


def run_metadata(spec: ModelSpec, data: TrainingData, run_id: str, threshold: float, band: tuple[float, float],
                 review_target: float, test_metrics: dict, trees: Optional[dict],
                 member: Optional[dict]) -> runs.RunMetadata:
    """metadata.json's contents (core.runs.RunMetadata)."""
    return runs.RunMetadata(
        model_type=spec.model_type, run_id=run_id, threshold=threshold, image_size=data.image_size,
        review_band=band, boosted_trees=trees, pretrained_member=member, keras_file=spec.file_name,
        threshold_source="chosen on the val split: nearest 0.5 within one standard error of the best "
                         "source-weighted accuracy",
        review_band_source=f"chosen on the val split: source-weighted accuracy >= {review_target} outside it, on "
                           "each side of the threshold",
        data={"data_dir": data.data_dir, "sources": data.sources, "counts": data.counts},
        test_metrics=test_metrics)


def training_summary(metadata: runs.RunMetadata, history: dict, kept_epoch: int, seconds: float,
                     data: TrainingData, run_dir: str, val: Scored, test: Scored) -> dict:
    """training_summary_<run_id>.json: the run's history in brief, its val and test metrics (the run's score, at
    its threshold), where it lives, and `warnings` (non-empty, and `useless` true, when its scores cannot sort
    images: usefulness_warnings)."""
    warnings = usefulness_warnings(val, test)
    epochs_run = len(history["loss"])
    n_train = sum(data.counts[features.TRAIN].values())
    return {
        "run_id": metadata.run_id,
        "model_type": metadata.model_type,
        "final_training_accuracy": history["accuracy"][-1],
        "final_validation_accuracy": history["val_accuracy"][-1],
        "final_training_loss": history["loss"][-1],
        "final_validation_loss": history["val_loss"][-1],
        "epochs": epochs_run,
        "best_epoch": kept_epoch + 1,  # the epoch whose weights were exported
        "best_validation_accuracy": history["val_accuracy"][kept_epoch],
        "test_metrics": metadata.test_metrics,
        "val_metrics": evaluate(val, metadata.threshold, metadata.review_band),
        "warnings": warnings,
        "useless": bool(warnings),
        "threshold": metadata.threshold,
        "review_band": list(metadata.review_band),
        "train_seconds": round(seconds, 2),
        "train_images_per_second": round(n_train * epochs_run / max(seconds, 1e-9), 1),
        "model_dir": run_dir,
        "data_dir": data.data_dir,
    }


def new_run_id() -> str:
    """Like 20250127_171226_c6b8dd01: sortable by time, unique by the suffix."""
    return f"{datetime.now(timezone.utc):%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"


def class_weights(spec, counts: dict) -> Optional[dict]:
    """Per-label weights from the spec: null, 'balanced' (from the train counts), or explicit per label."""
    if not spec.class_weights:
        return None
    if spec.class_weights == "balanced":
        total = sum(counts.values())
        return {features.LABEL_IDS[label]: total / (len(counts) * max(n, 1)) for label, n in counts.items()}
    return {features.LABEL_IDS[label]: float(w) for label, w in spec.class_weights.items()}


def callbacks(spec, run_dir: str, checkpoint=None, train_ds=None) -> list:
    """History log, TensorBoard scalars, early stopping and the best-epoch checkpoint; for a base trained from
    scratch, BatchNorm's statistics recomputed from `train_ds` before each validation. With `optimizer_args:
    {use_ema: true}` validation, early stopping and the checkpoint all see the averaged (EMA) weights, so the kept
    model is the best averaged one rather than the raw weights of its epoch. A later phase passes the first
    phase's `checkpoint` (it remembers the best so far) and appends to the same history.csv."""
    import keras

    history_csv = storage.join(run_dir, runs.HISTORY_FILE)
    result = [keras.callbacks.CSVLogger(history_csv, append=checkpoint is not None),
              scalar_summaries(storage.join(run_dir, TENSORBOARD_DIR))]
    if spec.optimizer_args.get("use_ema"):
        result.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))  # before the callbacks that read weights
    if spec.base_model and not spec.pretrained and train_ds is not None:
        result.append(recalibrate_batch_norm(train_ds))  # after the EMA swap: statistics of the weights validated
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
    """Fit, then the optional fine-tuning phase (pretrained base unfrozen, lower learning rate). Returns the
    merged history and the 0-based epoch whose weights the model ends with (the one exported).

    Class and source weights come with the data as sample weights (see models.data). Progress within each
    epoch on a terminal, one line per epoch otherwise.
    """
    import keras

    from models.builder import start_fine_tuning

    verbose = 1 if sys.stdout.isatty() else 2
    # shuffle=False: the dataset shuffles itself (Keras cannot shuffle a tf.data.Dataset, and says so).
    phase = callbacks(spec, run_dir, train_ds=train_ds)
    history = model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=phase, verbose=verbose,
                        shuffle=False).history
    _log_early_stop(phase)
    if spec.fine_tune and not spec.pretrained:
        logging.info("No fine-tuning phase: fine_tune applies to pretrained bases, and %s trained its whole "
                     "network from scratch (weights: null)", spec.model_type)
    elif spec.fine_tune:
        done = len(history["loss"])
        logging.info("Fine-tuning: base unfrozen from layer %s, epochs %d-%d at learning rate %g",
                     spec.fine_tune.unfreeze_from or 0, done + 1, done + spec.fine_tune.epochs,
                     spec.fine_tune.learning_rate)
        start_fine_tuning(model, spec)
        checkpoint = next((c for c in phase if isinstance(c, keras.callbacks.ModelCheckpoint)), None)
        phase = callbacks(spec, run_dir, checkpoint, train_ds)
        more = model.fit(train_ds, validation_data=val_ds, initial_epoch=done, epochs=done + spec.fine_tune.epochs,
                         callbacks=phase, verbose=verbose, shuffle=False).history
        history = {k: history.get(k, []) + more.get(k, []) for k in history}
        _log_early_stop(phase)
    stopper = next((c for c in phase if isinstance(c, keras.callbacks.EarlyStopping)), None)
    restored = stopper is not None and stopper.restore_best_weights and stopper.best_weights is not None
    kept = stopper.best_epoch if restored else len(history["loss"]) - 1
    monitor = stopper.monitor if stopper is not None else "val_loss"
    logging.info("Training done after %d epochs; keeping epoch %d's weights (%s %.4f)", len(history["loss"]),
                 kept + 1, monitor, history.get(monitor, [float("nan")] * (kept + 1))[kept])
    return history, kept


def _log_early_stop(phase: list) -> None:
    """A line when the phase's early stopping ended it before its last epoch."""
    import keras

    for c in phase:
        if isinstance(c, keras.callbacks.EarlyStopping) and c.stopped_epoch > 0:
            logging.info("Early stopping after epoch %d: %s not better for %d epochs%s", c.stopped_epoch + 1,
                         c.monitor, c.patience, f"; back to epoch {c.best_epoch + 1}'s weights"
                         if c.restore_best_weights and c.best_weights is not None else "")


def scalar_summaries(log_dir: str):
    """A callback writing TensorBoard's per-epoch scalars (`epoch_<metric>` under train/ and validation/, as
    Keras's TensorBoard callback writes them) through tf.summary's core ops: no tensorboard package needed."""
    import keras
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))

    class ScalarSummaries(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.writers = {}

        def on_epoch_end(self, epoch, logs=None):
            for name, value in (logs or {}).items():
                split, metric = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
                if split not in self.writers:
                    self.writers[split] = tf.summary.create_file_writer(storage.join(log_dir, split))
                with self.writers[split].as_default():
                    tf.summary.write(f"epoch_{metric}", tf.constant(float(value), tf.float32), step=epoch,
                                     metadata=metadata)
                    self.writers[split].flush()

        def on_train_end(self, logs=None):
            for writer in self.writers.values():
                writer.close()
            self.writers = {}

    return ScalarSummaries()


def recalibrate_batch_norm(train_ds):
    """A callback for a base trained from scratch: before each validation, BatchNorm's moving statistics become
    the plain mean over RECALIBRATION_BATCHES training batches at the current weights. The applications' momentum
    (0.99-0.999) suits ImageNet-long runs; after a short run their statistics lag the weights so far that the
    network in inference mode (validation, export, serving) gave every image the same score."""
    import keras

    class RecalibrateBatchNorm(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            layers = [layer for layer in self.model._flatten_layers()
                      if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
            momenta = [layer.momentum for layer in layers]
            for k, (x, *_) in enumerate(train_ds.take(RECALIBRATION_BATCHES)):
                for layer in layers:
                    layer.momentum = k / (k + 1)  # the running mean of the batches' statistics
                self.model(x, training=True)
            for layer, momentum in zip(layers, momenta):
                layer.momentum = momentum

    return RecalibrateBatchNorm()


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


def write_reports(summary: dict, history: dict, test_labels, test_scores, base: str, trees=None) -> None:
    """Plots, training_summary_<run_id>.json and the leaderboard under $BASE_DIR/reports/ (and, for an
    ensemble, what its boosted trees weigh most)."""
    run_id, model_type = summary["run_id"], summary["model_type"]
    reports_dir = storage.join(base, "reports")
    plots = storage.join(reports_dir, model_type, "plots")
    title = f"{model_type} {run_id}"
    val_metrics = summary.get("val_metrics")
    marks = ({f"ensemble (network + boosted trees) val accuracy at threshold {summary['threshold']:.2f}":
              val_metrics["accuracy"]} if trees is not None and val_metrics else None)
    reports.plot_history(
        history,
        "accuracy",
        storage.join(plots, f"accuracy_plot_{run_id}.png"),
        f"Accuracy: {title}",
        summary["best_epoch"],
        marks,
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
            "useless": summary.get("useless", False),
        },
    )
