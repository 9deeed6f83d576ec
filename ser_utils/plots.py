"""Figures for the notebooks. Every figure carries a title, axis labels with units, and a
footer naming the corpus (a synthetic corpus always says so) and, where it applies, the protocol."""

from __future__ import annotations

import librosa.display
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn import metrics as skm

from . import config
from .calibration import ece_of_bins
from .evaluation import decide, roc_auc_ovr

#: Inline figures at 90 dpi: sharp on screen and in a projector, and the report stays under 4 MB.
FIGURE_DPI = 90


def use_style() -> None:
    """Give every later figure the report's look (seaborn's white grid, 90 dpi). The notebooks call it once;
    importing this module changes no global state, so a program that draws one chart (``ser predict --radar``)
    keeps its own settings."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.dpi"] = FIGURE_DPI


#: One hue per emotion, the same in every figure and label scheme.
EMOTION_HUES = {"neutral": "#7f7f7f", "calm": "#2ca02c", "happy": "#ff9f0e", "sad": "#1f77b4", "angry": "#d62728",
                "fearful": "#9467bd", "disgust": "#8c564b", "surprised": "#e377c2"}
#: Gender as lightness: female light, male dark (of the emotion's hue, or of grey-blue alone).
GENDER_COLOURS = {"female": "#9ecae1", "male": "#08519c"}


def class_colour(label: str):
    """The colour of a class: its emotion's hue, lighter for female and darker for male classes."""
    gender, _, emotion = label.rpartition("_") if "_" in label else ("", "", label)
    if emotion not in EMOTION_HUES:
        return GENDER_COLOURS.get(label, "#7f7f7f")
    base = np.array(matplotlib.colors.to_rgb(EMOTION_HUES[emotion]))
    if gender == "female":
        return tuple(base + (1 - base) * 0.45)
    if gender == "male":
        return tuple(base * 0.7)
    return tuple(base)


def class_palette(labels) -> dict:
    """``{label: colour}`` for seaborn's ``palette``."""
    return {label: class_colour(label) for label in labels}


def legend_outside(ax, **kwargs) -> None:
    """Put ``ax``'s legend to the right of the plot, where it hides no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, **kwargs)


#: Resolution of figures that are mostly spectrogram images: noisy images do not compress, and at the
#: default 100 dpi they alone would take the report over its 4 MB.
IMAGE_DPI = 80


def stamp(fig: plt.Figure, caption: str) -> plt.Figure:
    """Add a footer naming the corpus and protocol to ``fig`` and tighten its layout."""
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.text(0.01, 0.005, caption, fontsize=8, color="dimgray", ha="left", va="bottom")
    return fig


def counts(table: pd.DataFrame, caption: str) -> plt.Figure:
    """Clips per class, per gender and per actor."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), gridspec_kw={"width_ratios": [3, 1, 4]})
    labels = list(table["label"].cat.categories) if hasattr(table["label"], "cat") else sorted(table["label"].unique())
    sns.countplot(data=table, y="label", ax=axes[0], hue="label", order=labels, hue_order=labels,
                  palette=class_palette(labels), dodge=False, legend=False)
    axes[0].set(title="Clips per class", xlabel="clips", ylabel="class")
    sns.countplot(data=table, x="gender", ax=axes[1], hue="gender", order=list(config.GENDERS), palette=GENDER_COLOURS,
                  legend=False)
    axes[1].set(title="Clips per gender", xlabel="gender", ylabel="clips")
    sns.countplot(data=table, x="actor", ax=axes[2], hue="gender", palette=GENDER_COLOURS)
    axes[2].set(title="Clips per actor", xlabel="actor", ylabel="clips")
    legend_outside(axes[2], title="gender")
    return stamp(fig, caption)


def waveform(samples: np.ndarray, sample_rate: int, title: str, caption: str, *, ax=None) -> plt.Figure:
    """Amplitude over time."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(12, 2.8))
    ax.plot(np.arange(len(samples)) / sample_rate, samples, linewidth=0.5)
    ax.set(title=title, xlabel="time (s)", ylabel="amplitude")
    return stamp(fig, caption)


def image(matrix: np.ndarray, *, sample_rate: int, hop_length: int, title: str, y_axis: str, ylabel: str,
          ax, colorbar: str | None = "dB") -> None:
    """Show a (rows x frames) matrix over time with ``librosa.display.specshow``."""
    mesh = librosa.display.specshow(matrix, sr=sample_rate, hop_length=hop_length, x_axis="time", y_axis=y_axis, ax=ax)
    ax.set(title=title, xlabel="time (s)", ylabel=ylabel)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=colorbar)


def mfcc_image(mfcc: np.ndarray, *, sample_rate: int, hop_length: int, title: str, caption: str) -> plt.Figure:
    """MFCCs over time: c0 (the frame's log energy) as a curve on its own scale, c1 and up as an image with their
    own colour scale, so that the spectral-shape coefficients are not washed out by c0."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 5), sharex=True, gridspec_kw={"height_ratios": [1, 2.5]})
    times = librosa.frames_to_time(np.arange(mfcc.shape[1]), sr=sample_rate, hop_length=hop_length)
    top.plot(times, mfcc[0], color="black", linewidth=1)
    top.set(title=title, ylabel="c0 (dB scale)")
    mesh = bottom.pcolormesh(times, np.arange(1, len(mfcc)), mfcc[1:], cmap="viridis", shading="nearest")
    bottom.set(xlabel="time (s)", ylabel="coefficient", yticks=np.arange(1, len(mfcc)))
    fig.colorbar(mesh, ax=[top, bottom], label="c1-c12 value (dB scale)", pad=0.01)
    fig.text(0.01, 0.005, caption, fontsize=8, color="dimgray", ha="left", va="bottom")
    return fig


def filter_bank(filters: np.ndarray, sample_rate: int, caption: str) -> plt.Figure:
    """Triangular mel filters over frequency."""
    fig, ax = plt.subplots(figsize=(12, 3))
    frequencies = np.linspace(0, sample_rate / 2, filters.shape[1])
    ax.plot(frequencies, filters[::4].T, linewidth=0.8)
    ax.set(title=f"Mel filter bank (every 4th of {len(filters)} filters)", xlabel="frequency (Hz)", ylabel="weight")
    return stamp(fig, caption)


def class_examples(matrices: dict[tuple[str, str], np.ndarray], *, sample_rate: int, hop_length: int, caption: str,
                   ylabel: str = "mel band") -> plt.Figure:
    """One log-mel (or MFCC) image per (gender, emotion), on a shared colour scale: rows = gender, columns = emotion."""
    genders = sorted({gender for gender, _ in matrices})
    emotions = sorted({emotion for _, emotion in matrices})
    fig, axes = plt.subplots(len(genders), len(emotions), figsize=(3.2 * len(emotions), 2.8 * len(genders)),
                             squeeze=False, sharex=True, sharey=True, dpi=IMAGE_DPI)
    vmin, vmax = np.percentile(np.concatenate([m.ravel() for m in matrices.values()]), [2, 99.5])
    for row, gender in enumerate(genders):
        for column, emotion in enumerate(emotions):
            ax = axes[row, column]
            if (gender, emotion) in matrices:
                librosa.display.specshow(matrices[gender, emotion], sr=sample_rate, hop_length=hop_length,
                                         x_axis="time", ax=ax, vmin=vmin, vmax=vmax, cmap="magma")
            ax.set(title=f"{gender} {emotion}", xlabel="time (s)" if row == len(genders) - 1 else "",
                   ylabel=ylabel if column == 0 else "")
    return stamp(fig, caption)


def distributions(frame: pd.DataFrame, columns: dict[str, str], caption: str, *, by: str = "emotion",
                  hue: str = "gender") -> plt.Figure:
    """Box plots of each measure (``columns``: name -> axis label with unit) by ``by``, split by ``hue``."""
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 4))
    for ax, (column, label) in zip(np.atleast_1d(axes), columns.items()):
        sns.boxplot(data=frame, x=by, y=column, hue=hue, ax=ax, fliersize=1.5, linewidth=0.8,
                    palette=GENDER_COLOURS if hue == "gender" else None)
        ax.set(title=label.split(" (")[0], xlabel=by, ylabel=label)
        ax.tick_params(axis="x", rotation=45)
        if ax is not np.atleast_1d(axes)[-1]:
            ax.get_legend().remove()
    legend_outside(np.atleast_1d(axes)[-1], title=hue)
    return stamp(fig, caption)


def mean_curves(features: np.ndarray, labels: pd.Series, *, title: str, xlabel: str, ylabel: str, caption: str) -> plt.Figure:
    """Mean and a one-standard-deviation band of a 1-D feature vector per class."""
    fig, ax = plt.subplots(figsize=(12, 4))
    x = np.arange(features.shape[1])
    for label in labels.cat.categories:
        rows = features[(labels == label).to_numpy()]
        mean, std = rows.mean(axis=0), rows.std(axis=0)
        ax.plot(x, mean, label=label, linewidth=1, color=class_colour(label))
        ax.fill_between(x, mean - std, mean + std, alpha=0.08, color=class_colour(label))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    legend_outside(ax, title="class (mean ± std)")
    return stamp(fig, caption)


def projection(points: dict[str, np.ndarray], labels: pd.Series, caption: str) -> plt.Figure:
    """Scatter plots of 2-D embeddings (name -> n x 2 array), coloured by class."""
    fig, axes = plt.subplots(1, len(points), figsize=(7 * len(points), 5.5), squeeze=False)
    for ax, (name, xy) in zip(axes[0], points.items()):
        sns.scatterplot(x=xy[:, 0], y=xy[:, 1], hue=labels.to_numpy(), hue_order=list(labels.cat.categories),
                        ax=ax, s=12, palette=class_palette(labels.cat.categories), linewidth=0,
                        legend=ax is axes[0][-1])
        ax.set(title=name, xlabel="component 1", ylabel="component 2")
    legend_outside(axes[0][-1], title="class")
    return stamp(fig, caption)


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


def protocol_comparison(summaries: list[dict], metric: str, caption: str, *, chance: float) -> plt.Figure:
    """Bar chart of ``metric`` (mean ± std over folds) for each model under each protocol."""
    frame = pd.DataFrame([{"model": s["model"], "protocol": s["protocol"], "mean": s["mean"][metric],
                           "std": s["std"][metric]} for s in summaries])
    fig, ax = plt.subplots(figsize=(12, 4.5))
    models = list(dict.fromkeys(frame["model"]))
    protocols = list(dict.fromkeys(frame["protocol"]))
    width = 0.8 / len(protocols)
    for k, protocol in enumerate(protocols):
        part = frame[frame["protocol"] == protocol].set_index("model").reindex(models)
        positions = np.arange(len(models)) + (k - (len(protocols) - 1) / 2) * width
        spread = part["std"].where(part["std"] > 0)  # a single fold has no spread: no error bar
        bars = ax.bar(positions, part["mean"], width, yerr=spread, capsize=3, label=protocol)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2, rotation=90 if len(protocols) > 1 else 0)
    if metric in ("accuracy", "uar"):
        ax.axhline(chance, color="gray", linestyle=":", label=f"chance ({chance:.2f})")
    ax.set_xticks(np.arange(len(models)), models)
    ax.set(title=f"{metric} by model and protocol (mean ± std over folds)", xlabel="model", ylabel=metric, ylim=(0, 1.05))
    ax.tick_params(axis="x", rotation=30)
    legend_outside(ax, title="protocol")
    return stamp(fig, caption)


def radar(emotion_probabilities: dict[str, np.ndarray], emotions: list[str], winner: str, title: str,
          caption: str) -> plt.Figure:
    """Radar chart on a fixed 0-1 scale: each gender's emotion probabilities given that gender (so both stay
    visible however sure the gender decision is), the decided gender solid with its values printed."""
    angles = np.linspace(0, 2 * np.pi, len(emotions), endpoint=False)
    closed = np.append(angles, angles[0])
    fig, ax = plt.subplots(figsize=(6.5, 6.5), subplot_kw={"projection": "polar"})
    for gender, values in emotion_probabilities.items():
        is_winner = gender == winner
        total = float(values.sum())
        given = values / total if total > 0 else values
        ring = np.append(given, given[0])
        ax.plot(closed, ring, linewidth=2.5 if is_winner else 1.2, linestyle="-" if is_winner else "--",
                label=f"{gender}: P(gender) = {total:.2f}{' (decision)' if is_winner else ''}")
        ax.fill(closed, ring, alpha=0.25 if is_winner else 0.08)
        if is_winner:
            for angle, value in zip(angles, given):
                ax.annotate(f"{value:.2f}", (angle, value), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=9, fontweight="bold")
    ax.set_xticks(angles, emotions)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["0.25", "0.5", "0.75", "1"], fontsize=7)
    ax.set_title(title, pad=20)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8, title="P(emotion | gender)",
              title_fontsize=8)
    return stamp(fig, caption)


def probability_bars(probabilities: np.ndarray, labels: list[str], title: str, caption: str) -> plt.Figure:
    """Horizontal bars of one clip's class probabilities (for label schemes without a radar)."""
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(labels) + 1.5))
    bars = ax.barh(labels, probabilities, color=[class_colour(label) for label in labels])
    ax.bar_label(bars, fmt="%.2f", padding=3)
    ax.set(title=title, xlabel="probability", ylabel="class", xlim=(0, 1.1))
    ax.invert_yaxis()
    return stamp(fig, caption)


def prediction_chart(result, title: str, caption: str) -> plt.Figure:
    """The radar chart for ``gender_emotion`` labels (the seed's figure), probability bars otherwise."""
    if result.gender is None:
        return probability_bars(result.probabilities, result.labels, title, caption)
    polygons, emotions = result.emotions_by_gender()
    return radar(polygons, emotions, result.gender[0], title, caption)


def window_timeline(starts: np.ndarray, probabilities: np.ndarray, labels: list[str], window_s: float,
                    title: str, caption: str) -> plt.Figure:
    """Class probabilities of each sliding window, plotted at the window's centre."""
    fig, ax = plt.subplots(figsize=(12, 4))
    centres = starts + window_s / 2
    for i, label in enumerate(labels):
        ax.plot(centres, probabilities[:, i], marker="o", markersize=3, linewidth=1, label=label,
                color=class_colour(label))
    ax.set(title=title, xlabel="window centre (s)", ylabel="probability", ylim=(0, 1))
    legend_outside(ax, title="class")
    return stamp(fig, caption)


def panel_grid(n_panels: int, panel_size: tuple[float, float], *, title: str, ylabel: str, **subplots):
    """(figure, axes grid) for ``n_panels`` panels, three a row, spare ones hidden, ``ylabel`` on the first column."""
    columns = min(3, n_panels)
    rows = -(-n_panels // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows), squeeze=False,
                             **subplots)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    return fig, axes


def spectrograms(signals: dict[str, np.ndarray], sample_rate: int, *, title: str, caption: str) -> plt.Figure:
    """Log-mel spectrograms (48 bands, dB below the loudest bin of all) of named signals, side by side."""
    hop = 512  # 32 ms: enough to see noise, rooms and bands, and a light figure
    mels = {name: librosa.power_to_db(librosa.feature.melspectrogram(y=samples, sr=sample_rate, n_mels=48,
                                                                     hop_length=hop), ref=1.0)
            for name, samples in signals.items()}
    top = max(mel.max() for mel in mels.values())
    fig, axes = panel_grid(len(mels), (3.6, 2.4), title=title, ylabel="mel band", sharex=True, sharey=True,
                           dpi=IMAGE_DPI, layout="constrained")
    for ax, (name, mel) in zip(axes.flat, mels.items()):
        times = np.arange(mel.shape[1]) * hop / sample_rate
        mesh = ax.pcolormesh(times, np.arange(mel.shape[0]), mel - top, vmin=-80, vmax=0, cmap="magma",
                             shading="nearest")
        ax.set_title(name, fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.colorbar(mesh, ax=axes, label="dB below the loudest bin", pad=0.01)
    fig.text(0.01, 0.005, caption, fontsize=8, color="dimgray", ha="left", va="bottom")
    return fig


#: What the robustness panels draw: column -> (legend name, colour).
ROBUSTNESS_MEASURES = {"uar": ("UAR", "#1f4e99"), "gender_accuracy": ("gender accuracy", "#b2182b")}


def robustness(summary: pd.DataFrame, *, title: str, caption: str, chance: dict[str, float],
               axis_labels: dict[str, str] | None = None) -> plt.Figure:
    """One panel per condition of a robustness study (:func:`~ser_utils.evaluation.robustness_summary`).

    Each panel draws each measure over the condition's levels, worsening to the right, with the
    measure's level on the clean clips (thin solid line) and its chance level (dotted).
    ``axis_labels`` maps each condition to its x-axis label (default: the study's own).
    """
    from .augment import STUDY_CONDITIONS

    axis_labels = axis_labels or {name: label for name, (label, _, _) in STUDY_CONDITIONS.items()}
    conditions = [c for c in dict.fromkeys(summary["condition"]) if c != "clean"]
    clean = summary[summary["condition"] == "clean"].iloc[0]
    fig, axes = panel_grid(len(conditions), (3.6, 2.7), title=title, ylabel="fraction correct", sharey=True)
    for ax, condition in zip(axes.flat, conditions):
        levels = summary[summary["condition"] == condition]
        positions = np.arange(len(levels))
        for column, (name, colour) in ROBUSTNESS_MEASURES.items():
            if column not in levels:
                continue
            ax.plot(positions, levels[column], marker="o", color=colour, label=name)
            ax.axhline(clean[column], color=colour, linewidth=0.8, alpha=0.7, label=f"{name}, clean")
            ax.axhline(chance[column], color=colour, linewidth=0.8, linestyle=":", label=f"{name}, chance")
        ax.set_xticks(positions, [f"{level:g}" for level in levels["level"]] if len(levels) > 1 else ["on"])
        ax.set(title=condition, xlabel=axis_labels[condition], ylim=(0, 1.05), xlim=(-0.5, max(len(levels), 2) - 0.5))
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return stamp(fig, caption)


def long_term_spectra(signals: dict[str, np.ndarray], sample_rate: int, caption: str) -> plt.Figure:
    """Average power spectrum (Welch) of each signal, in dB over frequency."""
    from scipy.signal import welch

    fig, ax = plt.subplots(figsize=(12, 3.2))
    for name, samples in signals.items():
        frequencies, power = welch(samples, fs=sample_rate, nperseg=2048)
        ax.plot(frequencies, 10 * np.log10(power + 1e-20), label=name, linewidth=1)
    ax.set(title="Long-term average spectrum", xlabel="frequency (Hz)", ylabel="power (dB)")
    ax.legend()
    return stamp(fig, caption)


def frame_and_window(frame: np.ndarray, window: np.ndarray, sample_rate: int, caption: str) -> plt.Figure:
    """One analysis frame, the Hann window, and their product."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3), sharex=True)
    milliseconds = np.arange(len(frame)) / sample_rate * 1000
    for ax, values, title in zip(axes, (frame, window, frame * window), ("frame", "Hann window", "windowed frame")):
        ax.plot(milliseconds, values, linewidth=0.8)
        ax.set(title=title, xlabel="time within frame (ms)", ylabel="amplitude")
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
    ax.set(title=title, xlabel="confidence (top class probability), 10 bins", ylabel="accuracy in the bin",
           xlim=(0, 1), ylim=(0, 1), aspect="equal")
    ax.legend(loc="upper left", fontsize=8)
    return stamp(fig, caption)
