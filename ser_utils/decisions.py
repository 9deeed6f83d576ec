"""How an answer is read from class probabilities: the gender rule, the decided class, emotions summed over gender.

Label arithmetic only (NumPy): prediction imports it without the metrics of :mod:`ser_utils.evaluation`, which need
scikit-learn (a second of a cold start).
"""

from __future__ import annotations

import numpy as np

from . import config


def gender_split(labels: list[str]) -> dict[str, list[int]]:
    """Column indices of each gender in ``gender_emotion`` labels (empty dict for other schemes)."""
    if not config.labels_have_gender(labels):
        return {}
    return {g: [i for i, label in enumerate(labels) if config.split_label(label)[0] == g] for g in config.GENDERS}


def gender_decision(probabilities: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The seed's rule: sum each gender's class probabilities; the larger sum wins.

    Returns (gender per row, that gender's summed probability).

    >>> gender_decision(np.array([[.1, .1, .1, .1, .1, .3, .1, .05, .05, 0]]), list(LABELS))  # doctest: +SKIP
    """
    columns = gender_split(labels)
    if not columns:
        raise ValueError(f"labels {labels} do not carry gender (use a gender_emotion scheme)")
    sums = np.stack([probabilities[:, columns[g]].sum(axis=1) for g in config.GENDERS], axis=1)
    winner = sums.argmax(axis=1)
    return np.array(config.GENDERS)[winner], sums[np.arange(len(sums)), winner]


def decide(probabilities: np.ndarray, labels: list[str]) -> np.ndarray:
    """The predicted class of each row: for ``gender_emotion`` labels the seed's rule (decide the gender
    by summed probability, then the most probable emotion of that gender), else the most probable class.

    So the printed class never contradicts the gender decision, and every metric scores what is printed.
    """
    probabilities = np.asarray(probabilities)
    columns = gender_split(labels)
    if not columns:
        return probabilities.argmax(axis=1)
    gender, _ = gender_decision(probabilities, labels)
    candidates = np.full(probabilities.shape, -np.inf)
    for name, indices in columns.items():
        rows = gender == name
        candidates[np.ix_(rows, indices)] = probabilities[np.ix_(rows, indices)]
    return candidates.argmax(axis=1)


def emotion_probabilities(probabilities: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Sum ``gender_emotion`` probabilities over gender: (rows x emotions, emotion names)."""
    emotion_of = [config.split_label(label)[1] for label in labels]
    emotions = sorted(set(emotion_of))
    summed = np.stack([probabilities[:, [i for i, own in enumerate(emotion_of) if own == e]].sum(axis=1)
                       for e in emotions], axis=1)
    return summed, emotions
