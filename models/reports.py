"""Plots and JSON/Markdown reports: training curves, ROC/PR curves, confusion
matrices, run summaries and the per-folder leaderboard."""
import json
from typing import NamedTuple, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from core import (
    features,
    storage,
)
from models import metrics


def _save(fig: Figure, path: str) -> str:
    with storage.open_write(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    return path


def plot_history(history: dict, metric: str, path: str, title: str, best_epoch: Optional[int] = None,
                 marks: Optional[dict[str, float]] = None) -> str:
    """Training vs validation `metric` per epoch (e.g. accuracy_plot_<run_id>.png), the network's own; `marks`
    draws labelled horizontal lines beside them (e.g. the ensemble's val accuracy, network and trees blended)."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    epochs = np.arange(1, len(history.get(metric, [])) + 1)
    for key, style, name in ((metric, "o-", "network training"), (f"val_{metric}", "s--", "network validation")):
        if history.get(key):
            ax.plot(epochs, history[key], style, label=f"{name} {metric}", markersize=4)
    for (label, value), color in zip((marks or {}).items(), ("tab:green", "tab:purple", "tab:brown")):
        ax.axhline(value, color=color, linestyle="-.", label=f"{label}: {value:.3f}")
    if best_epoch:
        ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_coverage(labels: Sequence[int], scores: Sequence[float], threshold: float, band: Sequence[float],
                  path: str, title: str) -> str:
    """Selective classification: accuracy of the images labelled automatically against their share
    (coverage), leaving the least sure to a person first; the review band's point is marked."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    right = ((scores >= threshold) == labels)[np.argsort(-metrics.sureness(scores, threshold), kind="stable")]
    kept = np.arange(1, right.size + 1)
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    if right.size:
        ax.plot(kept / right.size, np.cumsum(right) / kept, label="least sure left to a person first")
        inside = (scores >= band[0]) & (scores < band[1])
        if inside.any() and (~inside).any():
            accuracy = float(np.mean(((scores >= threshold) == labels)[~inside]))
            ax.plot([np.mean(~inside)], [accuracy], "ro",
                    label=f"review band [{band[0]:.2f}, {band[1]:.2f}): {np.mean(~inside):.0%} covered, {accuracy:.3f}")
    ax.set(title=title, xlabel="coverage (share labelled automatically)", ylabel="accuracy of those", xlim=(0, 1.01))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return _save(fig, path)


def plot_roc_pr(labels: Sequence[int], scores: Sequence[float], threshold: float, path: str, title: str) -> str:
    """ROC and precision-recall curves side by side, with the operating point marked."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    fig = Figure(figsize=(11, 4.5))
    roc_ax, pr_ax = fig.subplots(1, 2)
    if labels.size and labels.min() != labels.max():
        fpr, tpr, _ = skm.roc_curve(labels, scores)
        roc_ax.plot(fpr, tpr, label=f"ROC (AUC = {skm.roc_auc_score(labels, scores):.3f})")
        precision, recall, _ = skm.precision_recall_curve(labels, scores)
        pr_ax.plot(recall, precision, label=f"PR (AP = {skm.average_precision_score(labels, scores):.3f})")
        predicted = scores >= threshold
        op_tpr = np.mean(predicted[labels == 1])
        op_fpr = np.mean(predicted[labels == 0])
        op_precision = np.mean(labels[predicted] == 1) if predicted.any() else 1.0
        roc_ax.plot([op_fpr], [op_tpr], "ro", label=f"threshold {threshold:.2f}")
        pr_ax.plot([op_tpr], [op_precision], "ro", label=f"threshold {threshold:.2f}")
    roc_ax.plot([0, 1], [0, 1], "k:", alpha=0.5, label="chance")
    fig.suptitle(title)
    roc_ax.set(
        title="ROC",
        xlabel="false positive rate (non_chart called chart)",
        ylabel="true positive rate (chart recall)",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    pr_ax.set(
        title="Precision-recall", xlabel="recall (chart)", ylabel="precision (chart)", xlim=(0, 1), ylim=(0, 1.02)
    )
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is roc_ax else "lower left")
    return _save(fig, path)


def plot_confusion(matrix: Sequence[Sequence[int]], path: str, title: str) -> str:
    """Confusion matrix with counts and row percentages (rows: true, columns: predicted)."""
    matrix = np.asarray(matrix)
    fig = Figure(figsize=(5, 4.5))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    totals = matrix.sum(axis=1, keepdims=True).clip(min=1)
    for (i, j), n in np.ndenumerate(matrix):
        ax.text(j, i, f"{n}\n({100 * n / totals[i, 0]:.0f}%)", ha="center", va="center",
                color="white" if n > matrix.max() / 2 else "black", fontsize=12)
    ticks = range(len(features.LABEL_NAMES))
    ax.set_xticks(ticks, [f"pred {n}" for n in features.LABEL_NAMES])
    ax.set_yticks(ticks, [f"true {n}" for n in features.LABEL_NAMES])
    ax.set_title(title)
    return _save(fig, path)


def plot_descriptor_importance(names: Sequence[str], gains: Sequence[float], path: str, title: str) -> str:
    """The boosted trees' total split gain per kind of descriptor (`palette_3` counts towards `palette`)."""
    kinds: dict[str, float] = {}
    for name, gain in zip(names, gains):
        kind = name.rsplit("_", 1)[0]
        kinds[kind] = kinds.get(kind, 0.0) + float(gain)
    total = sum(kinds.values())
    ranked = sorted(kinds.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(7, 0.35 * len(ranked) + 1.2))
    ax = fig.subplots()
    ax.barh([k for k, _ in ranked], [100 * g / (total or 1.0) for _, g in ranked], color="tab:green")
    ax.set_xlabel("share of the trees' split gain (%)")
    if not total:
        ax.text(0.5, 0.5, "no split: too few training images for the trees'\nmin_child_samples; they add a constant",
                transform=ax.transAxes, ha="center", va="center", color="tab:red")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def write_json(path: str, payload: object) -> str:
    with storage.open_write(path) as f:
        f.write(json.dumps(payload, indent=2, sort_keys=True, default=str).encode())
    return path


LEADERBOARD_COLUMNS = (
    "model_type",
    "run_id",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "threshold",
    "epochs",
    "train_seconds",
    "useless",
)


def update_leaderboard(reports_dir: str, row: dict) -> list[dict]:
    """Append a run to leaderboard.json and re-render leaderboard.md (best test accuracy first; a run marked
    `useless` (its scores cannot sort images: models.trainer.usefulness_warnings) says so)."""
    json_path = storage.join(reports_dir, "leaderboard.json")
    rows = read_json(json_path) if storage.exists(json_path) else []
    rows = [r for r in rows if r.get("run_id") != row["run_id"]] + [row]
    rows.sort(key=lambda r: (-(r.get("accuracy") or 0.0), -(r.get("f1") or 0.0), r["run_id"]))
    write_json(json_path, rows)
    lines = ["# Chart Sifter leaderboard", "", "Test-split metrics per training run, best accuracy first.", "",
             "| " + " | ".join(LEADERBOARD_COLUMNS) + " |", "|" + "---|" * len(LEADERBOARD_COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(c)) for c in LEADERBOARD_COLUMNS) + " |")
    with storage.open_write(storage.join(reports_dir, "leaderboard.md")) as f:
        f.write(("\n".join(lines) + "\n").encode())
    return rows


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def read_json(path: str):
    return json.loads(storage.read_bytes(path))


class Tile(NamedTuple):
    """One thumbnail of a contact sheet: the file's bytes, its caption, and the file's name shown above it."""

    data: bytes
    caption: str
    name: str = ""


def contact_sheet(items: Sequence[tuple], path: str, title: str, thumb: int = 160, columns: int = 6,
                  empty: str = "nothing misclassified", outline: str = "red") -> str:
    """One image: a grid of thumbnails, each with its file name (cut in the middle to fit) and its caption (e.g.
    the misclassified images and their scores); `items` are Tiles or (data, caption[, name]) tuples."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    from transforms.image import RejectedImage, load_rgb

    tiles = [Tile(*item) for item in items]
    font = ImageFont.load_default(size=13)
    line_h, header_h = 17, 30
    caption_h = line_h * max([t.caption.count("\n") + 1 + bool(t.name) for t in tiles] or [1])
    rows = max(1, -(-len(tiles) // columns))
    sheet = Image.new("RGB", (columns * (thumb + 8) + 8, header_h + rows * (thumb + caption_h + 8)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((8, 8), title if tiles else f"{title}: {empty}", fill="black", font=font)
    for i, tile in enumerate(tiles):
        x, y = 8 + (i % columns) * (thumb + 8), header_h + (i // columns) * (thumb + caption_h + 8)
        try:
            picture = load_rgb(tile.data)
            picture.thumbnail((thumb, thumb))
        except RejectedImage:
            picture = Image.new("RGB", (thumb, thumb), "lightgrey")
        sheet.paste(picture, (x + (thumb - picture.width) // 2, y + (thumb - picture.height) // 2))
        draw.rectangle([x - 1, y - 1, x + thumb, y + thumb], outline=outline)
        lines = ([_fit(tile.name, font, thumb)] if tile.name else []) + [tile.caption]
        draw.multiline_text((x, y + thumb + 2), "\n".join(lines), fill="black", font=font)
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    with storage.open_write(path) as f:
        f.write(buffer.getvalue())
    return path


def review_sheet(items: Sequence[tuple], path: str, title: str) -> str:
    """The contact sheet of the images inside the review band (those a person is asked to look at)."""
    return contact_sheet(items, path, title, empty="no image in the review band", outline="orange")


def _fit(text: str, font, width: int) -> str:
    """`text`, cut in the middle with an ellipsis until it is at most `width` pixels wide in `font`."""
    if font.getlength(text) <= width:
        return text
    keep = len(text)
    while keep > 2 and font.getlength(f"{text[:keep // 2]}...{text[len(text) - (keep - keep // 2):]}") > width:
        keep -= 1
    return f"{text[:keep // 2]}...{text[len(text) - (keep - keep // 2):]}"
