"""The ensemble's pretrained member: a logistic regression on frozen MobileNetV2 features (models/pretrained.py)
that gets a say only where the network and trees are unsure.

Where the ensemble's score is in [unsure_low, unsure_high), the score becomes the log-odds blend (as the trees
join the network, models.boosted.blend) of the ensemble's score measured from its own threshold (`center`) and
the member's probability; elsewhere it is the ensemble's score measured from `center`. Either way the score
stays a chart probability, and 0.5 is where the ensemble alone would have cut. The network runs on the unsure
images only: about one in six on unseen sources. The run directory holds the regression (runs.PRETRAINED_MEMBER_FILE)
and the backbone converted for LiteRT (runs.PRETRAINED_BACKBONE_FILE); the backbone's weights ship with the package
and the run records their sha256.
"""
import dataclasses
import io
import logging
import os
import re
import threading
from typing import Any, Optional, Sequence

import numpy as np

from core import runs, stderr, storage
from models import boosted, pretrained

_FLATBUFFER_ID = b"TFL3"  # a LiteRT model's file identifier, bytes 4-8
_XNNPACK_INFO = re.compile(r"INFO: Created TensorFlow Lite XNNPACK delegate")  # LiteRT's, once a process

_REGRESSION_KEYS = ("mean", "scale", "coef", "intercept")


def from_center(scores: np.ndarray, center: float) -> np.ndarray:
    """The scores moved in log-odds so that `center` sits at 0.5."""
    return boosted.sigmoid(boosted.logit(scores) - boosted.logit(center))


@dataclasses.dataclass
class Member:
    """The regression's parameters (standardised features -> log-odds) and how its probability joins."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    weight: float  # the member's share of the blended log-odds
    unsure: tuple[float, float]  # [low, high) of the ensemble's score: where the member has a say
    center: float  # the ensemble's own threshold (chosen on val before the member joined)
    image_size: int  # of the prepared pixels it reads
    input_size: int = pretrained.INPUT_SIZE  # of the backbone's input, resized from image_size
    backbone: Optional[bytes] = None  # its LiteRT flatbuffer (None: a run from before it was stored)
    extractor: Any = None  # uint8 pixels [N, S, S, 3] -> features [N, FEATURES]; built on first use

    def probabilities(self, batch: Sequence[bytes]) -> np.ndarray:
        """P(chart) from the member, for prepared RGB bytes."""
        pixels = np.frombuffer(b"".join(batch), np.uint8).reshape(len(batch), self.image_size, self.image_size, 3)
        return self.predict(self.features(pixels))

    def features(self, pixels: np.ndarray) -> np.ndarray:
        if self.extractor is None:
            if self.backbone is None:
                logging.warning("The run's pretrained member has no %s (trained before it was stored): converting "
                                "the backbone, about 7 s a process; `--refit_member` stores it",
                                runs.PRETRAINED_BACKBONE_FILE)
                self.backbone = pretrained.litert_backbone(self.image_size, self.input_size)
            self.extractor = Backbone(self.backbone)
        return self.extractor(pixels)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return boosted.sigmoid(((features - self.mean) / self.scale) @ self.coef + self.intercept)

    def rescore(self, scores: np.ndarray, batch: Sequence[bytes]) -> np.ndarray:
        """The ensemble's scores for `batch` -> the scores with the member's say."""
        low, high = self.unsure
        unsure = np.flatnonzero((scores >= low) & (scores < high))
        out = from_center(scores, self.center)
        if unsure.size:
            member = self.probabilities([batch[i] for i in unsure])
            out[unsure] = boosted.blend(out[unsure], member, self.weight, boosted.LOGIT)
        return out


class Backbone:
    """The backbone's LiteRT flatbuffer on an interpreter (XNNPACK, every core): uint8 prepared pixels [N, S, S, 3]
    -> float32 features [N, FEATURES]. An interpreter is not thread-safe: calls take turns."""

    def __init__(self, flatbuffer: bytes):
        from ai_edge_litert.interpreter import Interpreter

        with stderr.without(_XNNPACK_INFO):
            self._interpreter = Interpreter(model_content=flatbuffer, num_threads=os.cpu_count())
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        with self._lock:
            if pixels.shape != tuple(self._input["shape"]):
                self._interpreter.resize_tensor_input(self._input["index"], pixels.shape)
                self._interpreter.allocate_tensors()
                self._input = self._interpreter.get_input_details()[0]
            self._interpreter.set_tensor(self._input["index"], pixels)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)


def fit(features: np.ndarray, labels: np.ndarray, C: float) -> dict[str, np.ndarray]:
    """A class-balanced logistic regression on standardised features; its parameters (_REGRESSION_KEYS)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    regression.fit((features - mean) / scale, labels)
    return {"mean": mean, "scale": scale, "coef": regression.coef_[0], "intercept": regression.intercept_}


def save(run_dir: str, regression: dict[str, np.ndarray], backbone: bytes, weight: float, unsure: tuple[float, float],
         center: float, input_size: int, images: int) -> dict:
    """Write the regression and the backbone's flatbuffer into the run directory; returns the metadata entry that
    names them."""
    buffer = io.BytesIO()
    np.savez(buffer, **regression)
    storage.write_atomically(storage.join(run_dir, runs.PRETRAINED_MEMBER_FILE), buffer.getvalue())
    storage.write_atomically(storage.join(run_dir, runs.PRETRAINED_BACKBONE_FILE), backbone)
    return {"file": runs.PRETRAINED_MEMBER_FILE, "backbone_file": runs.PRETRAINED_BACKBONE_FILE, "weight": weight,
            "unsure": list(unsure), "center": center, "input_size": input_size, "backbone": pretrained.PACKAGE,
            "backbone_sha256": pretrained.digest(pretrained.BACKBONE_FILE), "images": images}


def load(run_dir: str, entry: dict, image_size: int) -> Member:
    """The member a run's metadata entry names (its interpreter built on first use); ValueError if the run learned
    other backbone weights than this version ships, or its backbone's file is missing or not a flatbuffer."""
    shipped = pretrained.digest(pretrained.BACKBONE_FILE)
    if entry.get("backbone_sha256") != shipped:
        raise ValueError(f"{storage.join(run_dir, runs.METADATA_FILE)}: the pretrained member learned backbone "
                         f"weights {entry.get('backbone_sha256')}, this version ships {shipped} "
                         f"({pretrained.BACKBONE_FILE}); retrain the model or use the version that trained it")
    path = storage.join(run_dir, entry["file"])
    with np.load(io.BytesIO(storage.read_bytes(path))) as saved:
        regression = {key: saved[key] for key in _REGRESSION_KEYS}
    if regression["coef"].shape != (pretrained.FEATURES,):
        raise ValueError(f"{path}: {regression['coef'].shape[0]} coefficients, the backbone gives "
                         f"{pretrained.FEATURES} features; retrain the model")
    backbone = None
    if entry.get("backbone_file"):  # runs before it convert the backbone when they first need it
        path = storage.join(run_dir, entry["backbone_file"])
        if not storage.exists(path) or (backbone := storage.read_bytes(path))[4:8] != _FLATBUFFER_ID:
            raise ValueError(f"{path}, the run's pretrained backbone (a LiteRT flatbuffer), is missing or corrupt; "
                             "retrain or restore the run directory")
    low, high = entry["unsure"]
    return Member(regression["mean"], regression["scale"], regression["coef"], float(regression["intercept"][0]),
                  float(entry["weight"]), (float(low), float(high)), float(entry["center"]), image_size,
                  int(entry.get("input_size", pretrained.INPUT_SIZE)), backbone)  # runs before input_size: 224
