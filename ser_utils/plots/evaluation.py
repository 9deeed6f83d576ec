"""Figures of notebook 04: confusion matrix, ROC curves, the protocols compared, reliability."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn import metrics as skm

from ..calibration import ece_of_bins
from ..decisions import decide
from ..evaluation import roc_auc_ovr
from .style import class_colour, legend_outside, stamp


def confusion(y_true: np.ndarray, probabilities: np.ndarray, labels: list[str], title: str, caption: str) -> plt.Figure:
    """Row-normalised confusion matrix heatmap (recall on the diagonal); classes decided as ``ser predict`` does."""
    matrix = skm.confusion_matrix(y_true, decide(probabilities, labels), labels=range(len(labels)), normalize="true")
    fig, ax = plt.subplots(figsize=(8.5, 7))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="Blues", xticklabels=labels, yticklabels=labels, ax=ax,
                vmin=0, vmax=1, cbar_kws={"label": "fraction of the true class"}, annot_kws={"size": 8})
    ax.set(title=title, xlabel="predicted class", ylabel="true class")
    return stamp(fig, caption)


def roc_curves(y_true: np.ndarray, probabilities: np.ndarray, labels: list[str], title: str, caption: str) -> plt.Figure:
    """One-vs-rest ROC curve of each class (its colour, AUC in the legend) and the micro average (dashed);
    the title gives both averages, naming which curve is drawn."""
    one_hot = np.eye(len(labels))[y_true]
    fig, ax = plt.subplots(figsize=(9.5, 6.5))
    for i, label in enumerate(labels):
        if one_hot[:, i].any():
            fpr, tpr, _ = skm.roc_curve(one_hot[:, i], probabilities[:, i])
            ax.plot(fpr, tpr, linewidth=1.2, color=class_colour(label), label=f"{label} ({skm.auc(fpr, tpr):.3f})")
    fpr, tpr, _ = skm.roc_curve(one_hot.ravel(), probabilities.ravel())
    micro = skm.auc(fpr, tpr)
    ax.plot(fpr, tpr, "k--", linewidth=2, label=f"micro average ({micro:.3f})")
    macro = roc_auc_ovr(y_true, probabilities, "macro")
    ax.plot([0, 1], [0, 1], color="lightgray", linewidth=1, label="chance (0.5)")
    ax.set(title=f"{title}\nAUC: micro average {micro:.3f} (dashed), macro average of the classes {macro:.3f}",
           xlabel="false positive rate", ylabel="true positive rate", aspect="equal")
    legend_outside(ax, title="class (AUC)")
    return stamp(fig, caption)


#: How metrics are named on axes and titles.
METRIC_NAMES = {"uar": "UAR", "accuracy": "accuracy", "f1_macro": "macro-F1", "gender_accuracy": "gender accuracy",
                "emotion_accuracy": "emotion accuracy"}


def protocol_comparison(summaries: list[dict], metric: str, caption: str, *, chance: float,
                        headline: str | None = None) -> plt.Figure:
    """Bar chart of ``metric`` (mean ± std over folds) for each model under each protocol, models from the best to
    the worst under the speaker protocol, the ``headline`` model's name in bold."""
    frame = pd.DataFrame([{"model": s["model"], "protocol": s["protocol"], "mean": s["mean"][metric],
                           "std": s["std"][metric]} for s in summaries])
    strict = frame[frame["protocol"] == "speaker"].set_index("model")["mean"]
    models = sorted(dict.fromkeys(frame["model"]), key=lambda model: -strict.get(model, -1.0))
    protocols = list(dict.fromkeys(frame["protocol"]))
    name = METRIC_NAMES.get(metric, metric)
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(protocols)
    for k, protocol in enumerate(protocols):
        part = frame[frame["protocol"] == protocol].set_index("model").reindex(models)
        positions = np.arange(len(models)) + (k - (len(protocols) - 1) / 2) * width
        spread = part["std"].where(part["std"] > 0)  # a single fold has no spread: no error bar
        bars = ax.bar(positions, part["mean"], width, yerr=spread, capsize=3, label=protocol)
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2, rotation=90 if len(protocols) > 1 else 0)
    if metric in ("accuracy", "uar"):
        ax.axhline(chance, color="gray", linestyle=":", label=f"chance ({chance:.2f})")
    ax.set_xticks(np.arange(len(models)), [f"{model} (headline)" if model == headline else model for model in models])
    for tick, model in zip(ax.get_xticklabels(), models):
        tick.set_fontweight("bold" if model == headline else "normal")
    ax.set(title=f"{name} by model and protocol (mean ± std over folds; best on new speakers first)", xlabel="model",
           ylabel=name, ylim=(0, 1.05))
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    legend_outside(ax, title="protocol")
    return stamp(fig, caption)


def reliability(bins: dict[str, pd.DataFrame], title: str, caption: str) -> plt.Figure:
    """Reliability diagram: accuracy against confidence per bin (marker area ∝ clips), one line per variant.

    ``bins`` maps a variant's name to :func:`ser_utils.calibration.reliability_bins`; a calibrated
    model's points lie on the diagonal.
    """
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for (name, table), marker in zip(bins.items(), ("o", "s", "^")):
        sizes = 400 * table["clips"] / table["clips"].sum()
        ax.plot(table["confidence"], table["accuracy"], marker=marker, linewidth=1.5, markersize=0,
                label=f"{name} (ECE {ece_of_bins(table):.3f})")
        ax.scatter(table["confidence"], table["accuracy"], s=sizes, marker=marker, alpha=0.6)
    ax.set(title=title, xlabel="confidence (probability of the answer given), 10 bins", ylabel="accuracy in the bin",
           xlim=(0, 1), ylim=(0, 1), aspect="equal")
    ax.legend(loc="upper left", fontsize=8)
    return stamp(fig, caption)
