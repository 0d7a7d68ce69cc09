"""Labelling's answers (docs/ARCHITECTURE.md, Contract 5): the verdict on one score, the result line, reading
a run's results back, and the batch summary's shape. TensorFlow-free: labelling, serving and evaluate share it."""
import dataclasses
import json
import logging
import operator
import re
from datetime import datetime, timezone
from typing import Iterable, Optional

from core import features, runs, storage

METRICS = "chart_sifter.label"  # the namespace of labelling's Beam counters
ACK_ID = "_ack_id"  # a Pub/Sub job's row or dead letter carries its message's ack id until the writer removes it


def timestamp() -> str:
    """Now, as the results write it: UTC, milliseconds, a trailing Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a score becomes a label: the run's threshold and review band, or the user's overrides."""

    model_type: str
    run_id: str
    threshold: float
    review_band: tuple[float, float] = (0.0, 0.0)  # [low, high): scores inside go to a person

    @classmethod
    def of(cls, metadata: runs.RunMetadata, threshold: Optional[float] = None,
           review_band: Optional[tuple[float, float]] = None) -> "Rule":
        """The run's rule, with --threshold / --review_band over its recorded ones."""
        band = review_band or metadata.review_band
        return cls(metadata.model_type, metadata.run_id, metadata.threshold if threshold is None else threshold,
                   (float(band[0]), float(band[1])))

    def verdict(self, score: float) -> dict:
        """The fields every answer about one image carries (JSONL results and /predict alike); label and review
        follow from the score as written (6 decimals), so a reader can recompute them."""
        score = round(score, 6)
        label = features.CHART if score >= self.threshold else features.NON_CHART
        review = self.review_band[0] <= score < self.review_band[1]
        return {"label": label, "score": score, "review": review, "model_type": self.model_type,
                "run_id": self.run_id}


def result_line(uri: str, sha256: str, width: int, height: int, verdict: dict) -> dict:
    """One line of PREFIX-*.jsonl, with exactly features.RESULT_FIELDS."""
    values = {"uri": uri, "sha256": sha256, "width": width, "height": height, "labeled_at": timestamp(), **verdict}
    return {field: values[field] for field in features.RESULT_FIELDS}


def _records(paths: Iterable[str]) -> list[dict]:
    """Every record in the files; a line cut short (a writer killed mid-line) is skipped."""
    records = []
    for path in paths:
        for line in filter(str.strip, storage.read_bytes(path).decode("utf-8", errors="replace").splitlines()):
            try:
                records.append(json.loads(line))
            except ValueError:
                logging.warning("Skipping a line that is not JSON in %s: %.80s", path, line)
    return records


def shard_files(prefix: str) -> list[str]:
    """The result files of a prefix: batch shards PREFIX-SSSSS-of-NNNNN.jsonl and streaming PREFIX-<key>.jsonl;
    not another prefix's that merely starts alike (PREFIX-2-00000-of-00001.jsonl) nor a writer's temporary files
    (Beam's beam-temp-* folders, *.part)."""
    name = re.compile(re.escape(_basename(prefix)) + r"-(\d{5,}-of-\d{5,}|[0-9a-f]{20})"
                      + re.escape(features.JSONL_SUFFIX))
    return [path for path in storage.match(f"{prefix}-*{features.JSONL_SUFFIX}") if name.fullmatch(_basename(path))]


def run_files(output: str) -> list[str]:
    """Everything a labelling run writes under an output prefix: results, dead letters, the batch summary, and the
    files of Beam's beam-temp-* folders a killed batch run leaves beside them."""
    folder, name = output[:len(output) - len(_basename(output))], _basename(output)
    temp_folder = re.compile(f"beam-temp-{re.escape(name)}({re.escape(features.DEAD_LETTER_INFIX)})?-[0-9a-f]{{32}}")
    temporary = [path for path in storage.match(f"{folder}beam-temp-{name}*/*")
                 if temp_folder.fullmatch(_basename(path[:len(path) - len(_basename(path)) - 1]))]
    summary = output + features.LABEL_SUMMARY_SUFFIX
    return (shard_files(output) + shard_files(output + features.DEAD_LETTER_INFIX) + temporary
            + ([summary] if storage.exists(summary) else []))


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def read_results(output: str) -> tuple[list[dict], list[dict]]:
    """(results, dead letters) written under an output prefix, on any filesystem; each sorted by uri, since
    the order lines were written in depends on the runner."""
    by_uri = operator.itemgetter("uri")
    results = _records(shard_files(output))
    rejected = _records(shard_files(output + features.DEAD_LETTER_INFIX))
    return sorted(results, key=by_uri), sorted(rejected, key=by_uri)


def already_labelled(output: str) -> set[str]:
    """URIs present in earlier results under the output prefix (restart safety for streaming)."""
    return {r["uri"] for r in _records(shard_files(output))}


def summary(counted: Iterable[tuple[tuple[str, str], int]], input_: str, rule: Rule) -> dict:
    """PREFIX.summary.json of a batch run from its ((kind, key), count) pairs: what was listed and what became
    of it (listed = labelled + rejected; `not_sorted` counts labelled images whose --sort_into copy failed)."""
    result = {
        "input": input_,
        "listed": 0,
        "labelled": dict.fromkeys(features.LABEL_NAMES, 0),
        "rejected": {},
        "not_sorted": {},
        "model_type": rule.model_type,
        "run_id": rule.run_id,
        "threshold": rule.threshold,
        "review_band": list(rule.review_band),
        "review": 0,
        "finished_at": timestamp(),
    }
    for (kind, key), n in sorted(counted):
        if kind in ("listed", "review"):
            result[kind] = n
        else:
            result[kind][key] = n
    return result
