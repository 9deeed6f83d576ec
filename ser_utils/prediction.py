"""Predict emotion and gender of audio clips of any length with a saved model.

A clip up to twice the model's window (every RAVDESS-like clip) is read exactly as in
training: one window from the recipe's offset, moved earlier if needed, zero-padded if
short. A longer clip is scored over sliding windows (default hop: half a window)
whose probabilities are averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import fix_length, load_audio
from .evaluation import emotion_probabilities, gender_decision, gender_split
from .models import Model

#: Clips up to this many windows long are scored with the single training window.
SINGLE_WINDOW_FACTOR = 2


@dataclass
class Prediction:
    """What a model says about one clip."""

    path: str
    labels: list[str]
    probabilities: np.ndarray
    window_starts: np.ndarray
    window_probabilities: np.ndarray

    @property
    def label(self) -> str:
        """The most probable class."""
        return self.labels[int(self.probabilities.argmax())]

    @property
    def gender(self) -> tuple[str, float] | None:
        """The seed's gender decision and its summed probability (None if labels carry no gender)."""
        if not gender_split(self.labels):
            return None
        gender, total = gender_decision(self.probabilities[None, :], self.labels)
        return str(gender[0]), float(total[0])

    def describe(self) -> str:
        """One line: the most probable class, and the seed's gender decision when labels carry gender."""
        if self.gender is None:
            return f"{self.label} ({self.probabilities.max():.2f})"
        gender, total = self.gender
        return f"{self.label} ({self.probabilities.max():.2f}); gender {gender} (summed probability {total:.2f})"

    def emotions_by_gender(self) -> tuple[dict[str, np.ndarray], list[str]]:
        """Each gender's emotion probabilities (the radar chart's polygons) and the emotion order."""
        columns = gender_split(self.labels)
        emotions = [self.labels[i].split("_", 1)[1] for i in next(iter(columns.values()))]
        return {g: self.probabilities[idx] for g, idx in columns.items()}, emotions

    def to_dict(self) -> dict:
        """JSON-able summary: label, probabilities, gender decision, emotion, window count."""
        result = {
            "path": self.path, "label": self.label,
            "probabilities": {label: round(float(p), 4) for label, p in zip(self.labels, self.probabilities)},
            "windows": int(len(self.window_starts)),
        }
        if self.gender is not None:
            summed, emotions = emotion_probabilities(self.probabilities[None, :], self.labels)
            result |= {"gender": self.gender[0], "gender_probability": round(self.gender[1], 4),
                       "emotion": emotions[int(summed.argmax())]}
        return result


def window_starts(n_samples: int, window: int, hop: int) -> np.ndarray:
    """Start samples of windows of ``window`` samples every ``hop`` covering ``n_samples``; the last ends at the end."""
    if n_samples <= window:
        return np.array([0])
    starts = np.arange(0, n_samples - window + 1, hop)
    if starts[-1] + window < n_samples:
        starts = np.append(starts, n_samples - window)
    return starts


def window_batch(recipe, samples: np.ndarray, *, hop_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features of each analysis window of a clip (mono, at the recipe's rate) and the windows' starts in s.

    Up to :data:`SINGLE_WINDOW_FACTOR` windows long, the clip is read as in training
    (one window); longer clips are cut into windows every ``hop_s`` seconds (default
    half a window).
    """
    rate, window = recipe.sample_rate, recipe.n_samples
    if len(samples) <= SINGLE_WINDOW_FACTOR * window:
        start = recipe.window_offset(len(samples) / rate)
        return recipe.transform(recipe.window(samples))[None], np.array([start])
    starts = window_starts(len(samples), window, int(round((hop_s or recipe.duration / 2) * rate)))
    batch = np.stack([recipe.transform(fix_length(samples[s : s + window], window)) for s in starts])
    return batch, starts / rate


def predict_many(model: Model, clips: list[np.ndarray], *, hop_s: float | None = None,
                 paths: list[str] | None = None) -> list[Prediction]:
    """Predict several in-memory clips with one forward pass over all their windows."""
    batches = [window_batch(model.recipe, samples, hop_s=hop_s) for samples in clips]
    probabilities = model.predict_proba(np.concatenate([features for features, _ in batches]))
    bounds = np.cumsum([0] + [len(starts) for _, starts in batches])
    paths = paths or ["<samples>"] * len(clips)
    return [Prediction(path, model.labels, probabilities[a:b].mean(axis=0), starts, probabilities[a:b])
            for path, (_, starts), a, b in zip(paths, batches, bounds[:-1], bounds[1:])]


def predict_samples(model: Model, samples: np.ndarray, *, hop_s: float | None = None,
                    path: str = "<samples>") -> Prediction:
    """Predict one in-memory clip: mono samples at the model's sample rate, any length."""
    return predict_many(model, [samples], hop_s=hop_s, paths=[path])[0]


def predict_file(model: Model, path: str | Path, *, hop_s: float | None = None) -> Prediction:
    """Predict one audio file of any length, rate, channel count or format (WAV/FLAC/OGG)."""
    samples, _ = load_audio(path, sample_rate=model.recipe.sample_rate, res_type=model.recipe.res_type)
    return predict_samples(model, samples, hop_s=hop_s, path=str(path))


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at ``snr_db`` below the clip's active-speech power (frames above 10 % of peak RMS)."""
    frames = samples[: len(samples) // 256 * 256].reshape(-1, 256)
    power = np.mean(frames**2, axis=1)
    speech_power = power[power > 0.1 * power.max()].mean()
    noise = rng.normal(0.0, np.sqrt(speech_power / 10 ** (snr_db / 10)), len(samples))
    return (samples + noise).astype(np.float32)


def test_clips(table, metadata: dict):
    """The rows of ``table`` whose actors the model never saw (its run's test actors)."""
    return table[table["actor"].isin(metadata["split"]["test_actors"])].reset_index(drop=True)


def robustness(model: Model, clips, *, snrs_db, lengths_s, seed: int = 0):
    """Accuracy on ``clips`` with white noise at each SNR, and cut to each length (from the recipe's offset).

    Returns two DataFrames, one row per condition: accuracy, gender accuracy and
    5-class emotion accuracy (the latter two for ``gender_emotion`` labels).
    """
    import pandas as pd

    from .evaluation import classification_metrics

    rng = np.random.default_rng(seed)
    recipe = model.recipe
    clean = [load_audio(path, sample_rate=recipe.sample_rate, res_type=recipe.res_type)[0] for path in clips["path"]]
    targets = clips["label"].cat.codes.to_numpy()
    keep = ["accuracy", "gender_accuracy", "emotion_accuracy"]

    def score(signals):
        probabilities = np.stack([p.probabilities for p in predict_many(model, signals)])
        metrics = classification_metrics(targets, probabilities, model.labels)
        return {k: metrics[k] for k in keep if k in metrics}

    start = int(recipe.offset * recipe.sample_rate)
    by_snr = pd.DataFrame([{"snr_db": snr, **score([add_noise(s, snr, rng) for s in clean])} for snr in snrs_db])
    by_length = pd.DataFrame([{"length_s": length, **score([s[start : start + int(length * recipe.sample_rate)]
                                                             for s in clean])} for length in lengths_s])
    return by_snr, by_length
