"""Figures of notebook 05: the radar chart, probability bars, windows of a long clip, the robustness study."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import GENDER_COLOURS, class_colour, legend_outside, panel_grid, stamp


#: Below this probability, the other gender's polygon is not drawn: it would be drawn as large as the answer's,
#: for a gender the model all but ruled out.
OTHER_GENDER_SHOWN_FROM = 0.2
#: Values under this are not printed on the radar (they would pile up at its centre).
RADAR_LABEL_FROM = 0.05


def radar(emotion_probabilities: dict[str, np.ndarray], emotions: list[str], winner: str, title: str,
          caption: str) -> plt.Figure:
    """Radar chart on a fixed 0-1 scale of each gender's emotion probabilities given that gender: the decided
    gender solid with its values printed, the other dashed, and only when the model gives it a real chance
    (:data:`OTHER_GENDER_SHOWN_FROM`). Genders in the colours of every other figure."""
    angles = np.linspace(0, 2 * np.pi, len(emotions), endpoint=False)
    closed = np.append(angles, angles[0])
    fig, ax = plt.subplots(figsize=(6.5, 6.5), subplot_kw={"projection": "polar"})
    for gender, values in emotion_probabilities.items():
        is_winner, total = gender == winner, float(values.sum())
        label = f"{gender}: P(gender) = {total:.2f}{' (decision)' if is_winner else ''}"
        if not is_winner and total < OTHER_GENDER_SHOWN_FROM:
            ax.plot([], [], linestyle="--", color=GENDER_COLOURS.get(gender, "gray"), label=f"{label}, not drawn")
            continue
        given = values / total if total > 0 else values
        ring = np.append(given, given[0])
        colour = GENDER_COLOURS.get(gender, "gray")
        ax.plot(closed, ring, linewidth=2.5 if is_winner else 1.2, linestyle="-" if is_winner else "--", color=colour,
                label=label)
        ax.fill(closed, ring, alpha=0.25 if is_winner else 0.08, color=colour)
        if is_winner:
            for angle, value in zip(angles, given):
                if value >= RADAR_LABEL_FROM:
                    ax.annotate(f"{value:.2f}", (angle, value), textcoords="offset points", xytext=(0, 6),
                                ha="center", fontsize=10, fontweight="bold")
    ax.set_xticks(angles, emotions, fontsize=11)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["0.25", "0.5", "0.75", "1"], fontsize=8)
    ax.set_title(title, pad=20)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=1, fontsize=9, title="P(emotion | gender)",
              title_fontsize=9)
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
                    title: str, caption: str, *, segments: list[tuple[float, str]] = ()) -> plt.Figure:
    """Class probabilities of each sliding window, plotted at the window's centre; ``segments`` ((start in s, what
    it is)) mark where each joined clip begins."""
    fig, ax = plt.subplots(figsize=(12, 4))
    centres = starts + window_s / 2
    for i, label in enumerate(labels):
        ax.plot(centres, probabilities[:, i], marker="o", markersize=3, linewidth=1, label=label,
                color=class_colour(label))
    for start, name in segments:
        ax.axvline(start, color="dimgray", linestyle="--", linewidth=1)
        ax.annotate(name, (start, 1.0), xytext=(4, -4), textcoords="offset points", va="top", fontsize=10,
                    color="dimgray")
    ax.set(title=title, xlabel="time (s): window centre", ylabel="probability", ylim=(0, 1.05))
    legend_outside(ax, title="class")
    return stamp(fig, caption)


def wilson_interval(fraction, clips, z: float = 1.96):
    """The 95 % Wilson score interval (low, high) of a fraction correct measured on ``clips`` clips (arrays welcome):
    how far the figure could move on another draw of as many clips."""
    fraction, clips = np.asarray(fraction, dtype=float), np.asarray(clips, dtype=float)
    centre = (fraction + z**2 / (2 * clips)) / (1 + z**2 / clips)
    half = z * np.sqrt(fraction * (1 - fraction) / clips + z**2 / (4 * clips**2)) / (1 + z**2 / clips)
    return centre - half, centre + half


#: What the robustness panels draw: column -> (legend name, colour).
ROBUSTNESS_MEASURES = {"uar": ("UAR", "#1f4e99"), "gender_accuracy": ("gender accuracy", "#b2182b")}


def robustness(summary: pd.DataFrame, *, title: str, caption: str, chance: dict[str, float],
               axis_labels: dict[str, str] | None = None) -> plt.Figure:
    """One panel per condition of a robustness study (:func:`~ser_utils.evaluation.robustness_summary`).

    Each panel draws each measure over the condition's levels, worsening to the right, with its 95 % interval for
    the number of clips scored (shaded, when the summary counts them: a few clips move a figure a lot), the
    measure's level on the clean clips (thin solid line) and its chance level (dotted).
    ``axis_labels`` maps each condition to its x-axis label (default: the study's own).
    """
    from ..augment import STUDY_CONDITIONS

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
            if "clips" in levels:
                low, high = wilson_interval(levels[column], levels["clips"])
                if len(positions) > 1:
                    ax.fill_between(positions, low, high, color=colour, alpha=0.12, linewidth=0,
                                    label=f"{name}, 95 % interval")
                else:  # one level (the telephone line): the interval as an error bar
                    value = levels[column].to_numpy()
                    ax.errorbar(positions, value, yerr=[value - low, high - value], color=colour, alpha=0.5,
                                capsize=4, linestyle="none")
            ax.axhline(clean[column], color=colour, linewidth=0.8, alpha=0.7, label=f"{name}, clean")
            ax.axhline(chance[column], color=colour, linewidth=0.8, linestyle=":", label=f"{name}, chance")
        ax.set_xticks(positions, [f"{level:g}" for level in levels["level"]] if len(levels) > 1 else ["on"])
        ax.set(title=condition, xlabel=axis_labels[condition], ylim=(0, 1.05), xlim=(-0.5, max(len(levels), 2) - 0.5))
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return stamp(fig, caption)
