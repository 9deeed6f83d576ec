"""Paths, the RAVDESS code tables and the label schemes: one source of truth for each."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SER_PROJECT_ROOT", Path(__file__).resolve().parent.parent))
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
INTERIM_DIR = DATA_DIR / "interim"
PROCESSED_DIR = DATA_DIR / "processed"
MODELS_DIR = PROJECT_ROOT / "models"
REPORTS_DIR = PROJECT_ROOT / "reports"

SYNTHETIC_DIR = RAW_DIR / "synthetic"
RAVDESS_DIR = RAW_DIR / "ravdess"

DEFAULT_SEED = 42

# RAVDESS file-name codes (Livingstone & Russo, 2018).
MODALITIES = {1: "full-AV", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
EMOTIONS = {
    1: "neutral",
    2: "calm",
    3: "happy",
    4: "sad",
    5: "angry",
    6: "fearful",
    7: "disgust",
    8: "surprised",
}
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
N_ACTORS = 24

# The five emotions the seed project keeps; neutral, disgust and surprised are dropped.
SEED_EMOTIONS = ("angry", "calm", "fearful", "happy", "sad")
GENDERS = ("female", "male")


def _gender_emotion_labels(emotions: tuple[str, ...]) -> tuple[str, ...]:
    """Return ``gender_emotion`` labels, female first, emotions in the given order."""
    return tuple(f"{gender}_{emotion}" for gender in GENDERS for emotion in emotions)


ALL_EMOTIONS = tuple(sorted(EMOTIONS.values()))

#: label scheme name -> (emotions kept, whether the label includes gender, class order)
LABEL_SCHEMES: dict[str, dict] = {
    "gender_emotion5": {
        "emotions": SEED_EMOTIONS,
        "classes": _gender_emotion_labels(SEED_EMOTIONS),
        "description": "the seed's 10 classes: gender x angry/calm/fearful/happy/sad",
    },
    "emotion5": {
        "emotions": SEED_EMOTIONS,
        "classes": SEED_EMOTIONS,
        "description": "5 emotions, gender ignored",
    },
    "gender": {
        "emotions": ALL_EMOTIONS,
        "classes": GENDERS,
        "description": "speaker gender only, every clip kept",
    },
    "gender_emotion8": {
        "emotions": ALL_EMOTIONS,
        "classes": _gender_emotion_labels(ALL_EMOTIONS),
        "description": "all 8 emotions x gender (16 classes)",
    },
}
DEFAULT_SCHEME = "gender_emotion5"


def label_scheme(name: str) -> dict:
    """Return the label scheme called ``name``, or raise ``ValueError`` listing the valid names."""
    try:
        return LABEL_SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown label scheme {name!r}; choose one of {sorted(LABEL_SCHEMES)}") from None


def labels_path(dataset: str, scheme: str) -> Path:
    """Where notebook 01 writes the labels table of ``dataset`` under ``scheme``."""
    return INTERIM_DIR / f"{dataset}-{scheme}.csv"


def run_dir(dataset: str, model: str, protocol: str) -> Path:
    """Where a trained model of ``dataset`` and its predictions live: ``models/<dataset>/<model>-<protocol>``."""
    return MODELS_DIR / dataset / f"{model}-{protocol}"
