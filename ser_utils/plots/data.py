"""Figures of notebooks 02-03 about the data: waveforms, MFCCs step by step, spectrograms, prosody by emotion,
projections, corrupted copies."""

from __future__ import annotations

import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .style import GENDER_COLOURS, IMAGE_DPI, class_colour, class_palette, legend_outside, panel_grid, stamp


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
        sns.boxplot(data=frame, x=by, y=column, hue=hue, ax=ax, fliersize=1.5, linewidth=0.8, order=sorted(frame[by].unique()),
                    palette=GENDER_COLOURS if hue == "gender" else None)
        ax.set(title=label.split(" (")[0], xlabel=by, ylabel=label)
        ax.tick_params(axis="x", rotation=45)
        if ax is not np.atleast_1d(axes)[-1]:
            ax.get_legend().remove()
    legend_outside(np.atleast_1d(axes)[-1], title=hue)
    return stamp(fig, caption)


def mean_curves(features: np.ndarray, labels: pd.Series, *, title: str, xlabel: str, ylabel: str, caption: str) -> plt.Figure:
    """The mean of a 1-D feature vector per label (no spread bands: overlapping bands of many labels hide the
    means they surround)."""
    fig, ax = plt.subplots(figsize=(12, 4))
    x = np.arange(features.shape[1])
    for label in labels.cat.categories:
        rows = features[(labels == label).to_numpy()]
        ax.plot(x, rows.mean(axis=0), label=label, linewidth=1.5, color=class_colour(label))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    legend_outside(ax, title=labels.name or "class")
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
