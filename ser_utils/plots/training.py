"""Figures of notebook 03 about training: learning curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import stamp


def training_curves(histories: dict[str, dict], caption: str) -> plt.Figure:
    """Loss and accuracy per epoch, training and validation, one row per run."""
    fig, axes = plt.subplots(len(histories), 2, figsize=(12, 3.2 * len(histories)), squeeze=False)
    for row, (name, history) in enumerate(histories.items()):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, metric, unit in ((axes[row, 0], "loss", "cross-entropy"), (axes[row, 1], "accuracy", "fraction correct")):
            ax.plot(epochs, history[metric], label="training")
            ax.plot(epochs, history[f"val_{metric}"], label="validation (held-out)")
            ax.set(title=f"{name}: {metric}", xlabel="epoch", ylabel=unit)
            ax.legend(fontsize=8)
    return stamp(fig, caption)
