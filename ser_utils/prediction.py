"""Predict emotion and gender of audio clips of any length with a saved model.

A clip is read exactly as in training: its leading and trailing silence trimmed, then
pooled over the whole speech (classical models) or read as one window (networks).
Speech longer than twice a network's window is scored over sliding windows (hop: half
a window) whose probabilities are averaged; an ensemble averages its members.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import load_audio, speech_bounds
from .evaluation import emotion_probabilities, gender_decision, gender_split
from .models import Model

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


def predict_many(model: Model, clips: list[np.ndarray], *, paths: list[str] | None = None) -> list[Prediction]:
    """Predict several in-memory clips (mono, at ``model.sample_rate``) in one batch."""
    paths = paths or ["<samples>"] * len(clips)
    return [Prediction(path, model.labels, probabilities.mean(axis=0), starts, probabilities)
            for path, (starts, probabilities) in zip(paths, model.predict_clips(clips))]


def predict_samples(model: Model, samples: np.ndarray, *, path: str = "<samples>") -> Prediction:
    """Predict one in-memory clip: mono samples at the model's sample rate, any length."""
    return predict_many(model, [samples], paths=[path])[0]


def predict_file(model: Model, path: str | Path) -> Prediction:
    """Predict one audio file of any length, rate, channel count or format (WAV/FLAC/OGG)."""
    samples, _ = load_audio(path, sample_rate=model.sample_rate, res_type=model.res_type)
    return predict_samples(model, samples, path=str(path))


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
    """Accuracy on ``clips`` with white noise at each SNR, and cut to each length (from the start of speech).

    Returns two DataFrames, one row per condition: accuracy, gender accuracy and
    5-class emotion accuracy (the latter two for ``gender_emotion`` labels).
    """
    import pandas as pd

    from .evaluation import classification_metrics

    rng = np.random.default_rng(seed)
    rate = model.sample_rate
    clean = [load_audio(path, sample_rate=rate, res_type=model.res_type)[0] for path in clips["path"]]
    targets = clips["label"].cat.codes.to_numpy()
    keep = ["accuracy", "gender_accuracy", "emotion_accuracy"]

    def score(signals):
        probabilities = np.stack([p.probabilities for p in predict_many(model, signals)])
        metrics = classification_metrics(targets, probabilities, model.labels)
        return {k: metrics[k] for k in keep if k in metrics}

    starts = [speech_bounds(samples)[0] for samples in clean]
    by_snr = pd.DataFrame([{"snr_db": snr, **score([add_noise(s, snr, rng) for s in clean])} for snr in snrs_db])
    by_length = pd.DataFrame([{"length_s": length, **score([s[start : start + int(length * rate)]
                                                             for s, start in zip(clean, starts)])}
                              for length in lengths_s])
    return by_snr, by_length
