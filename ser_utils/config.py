"""Paths, the RAVDESS code tables and the label schemes: one source of truth for each."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SER_PROJECT_ROOT", Path(__file__).resolve().parent.parent))
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"  # content-addressed feature cache: safe to share between runs

#: Where a run writes labels, models and reports. ``SER_OUTPUT_DIR`` redirects them (``make test``
#: runs the notebooks in a scratch folder so that it never overwrites a user's models or reports).
OUTPUT_ROOT = Path(os.environ.get("SER_OUTPUT_DIR", PROJECT_ROOT))
INTERIM_DIR = OUTPUT_ROOT / "data" / "interim"
MODELS_DIR = OUTPUT_ROOT / "models"
REPORTS_DIR = OUTPUT_ROOT / "reports"

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
#: RAVDESS's actor numbers, 01-24 (odd = male, even = female): every actor in this range is read, however many
#: the folder holds. Not to be confused with the size of the synthetic corpus below.
RAVDESS_ACTORS = range(1, 25)
#: Speakers of the synthetic corpus by default: as many as the real development sample, 6 female + 6 male (it keeps
#: `make report` within its time budget); it says nothing about which RAVDESS actors are accepted.
SYNTHETIC_ACTORS = 12
#: Sizes the synthetic corpus can be built at (``make report ACTORS=24``: RAVDESS's full shape; 4: ``make test``).
SYNTHETIC_ACTORS_RANGE = (4, len(RAVDESS_ACTORS))


def is_synthetic_corpus_size(n_actors) -> bool:
    """True if the synthetic corpus can have ``n_actors`` speakers: an even number (as many men as women) within
    :data:`SYNTHETIC_ACTORS_RANGE`."""
    low, high = SYNTHETIC_ACTORS_RANGE
    return isinstance(n_actors, int) and not isinstance(n_actors, bool) and n_actors % 2 == 0 and low <= n_actors <= high

# The five emotions the seed project keeps; neutral, disgust and surprised are dropped.
SEED_EMOTIONS = ("angry", "calm", "fearful", "happy", "sad")
GENDERS = ("female", "male")
#: Audio files the project reads (any letter case).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


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


def split_label(label: str) -> tuple[str | None, str]:
    """(gender, emotion) of a ``gender_emotion`` label; (None, label) for a label that carries no gender.

    >>> split_label("female_angry"), split_label("calm")
    (('female', 'angry'), (None, 'calm'))
    """
    gender, _, emotion = label.partition("_")
    return (gender, emotion) if emotion and gender in GENDERS else (None, label)


def labels_have_gender(labels) -> bool:
    """Whether every label is ``gender_emotion`` (so that the seed's gender rule and factorised models apply)."""
    return all(split_label(label)[0] is not None for label in labels)


#: The metrics file notebook 04 writes into a report's folder.
METRICS_FILE = "metrics.json"


def metrics_path(dataset: str) -> Path:
    """Where notebook 04 writes the metrics of ``dataset`` (the report's headline and every run's summary)."""
    return REPORTS_DIR / dataset / METRICS_FILE


def label_scheme(name: str) -> dict:
    """The label scheme called ``name`` with what every stage needs to know of it.

    Keys: ``name``, ``emotions`` (kept), ``classes`` (in order), ``description``,
    ``chance`` (accuracy of guessing among balanced classes) and ``has_gender``
    (whether labels are ``gender_emotion``, so that the seed's gender rule applies).
    Raises ``ValueError`` listing the valid names.

    >>> label_scheme("emotion5")["chance"]
    0.2
    """
    try:
        spec = LABEL_SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown label scheme {name!r}; choose one of {sorted(LABEL_SCHEMES)}") from None
    classes = list(spec["classes"])
    return {"name": name, "emotions": list(spec["emotions"]), "classes": classes, "description": spec["description"],
            "chance": round(1 / len(classes), 4), "has_gender": labels_have_gender(classes)}


def labels_path(dataset: str) -> Path:
    """Where notebook 01 writes the labels table of ``dataset`` (its scheme is in the JSON sidecar)."""
    return INTERIM_DIR / f"{dataset}-labels.csv"


def run_dir(dataset: str, model: str, protocol: str) -> Path:
    """Where a trained model of ``dataset`` and its predictions live: ``models/<dataset>/<model>-<protocol>``."""
    return MODELS_DIR / dataset / f"{model}-{protocol}"


def show_progress(requested: bool = True) -> bool:
    """Whether to draw a progress bar: when ``requested`` and not switched off by tqdm's own ``TQDM_DISABLE``
    variable (which `make report` sets, so the executed notebooks hold no progress bars)."""
    return requested and not os.environ.get("TQDM_DISABLE")
