"""Evaluation protocols: which clips train, validate and test in each fold.

- ``speaker`` (default): leave-actors-out k-fold, no actor in both train and test, folds
  balanced by gender (``StratifiedGroupKFold`` grouped by actor, stratified by gender);
  validation actors (one female, one male) come out of the training actors.
- ``speaker-norm``: the speaker folds, but every feature is first z-normalised per
  speaker over all of that speaker's clips (no labels used), test speakers included.
  It needs several clips of a new speaker before it can predict one, so it is not
  strict speaker independence and never the headline; it shows how much of the
  remaining error is the speaker's voice rather than the emotion.
- ``random``: the seed's random per-clip split (stratified k-fold on the label);
  the same speakers land in train and test, which overstates accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from . import config

PROTOCOLS = {
    "speaker": "speaker-independent (leave-actors-out, gender-balanced folds)",
    "speaker-norm": "leave-actors-out with features z-normalised per speaker over that speaker's unlabelled clips",
    "random": "random per-clip split (same speakers in train and test, as in the seed)",
}
#: Protocols that never put a speaker in both training and test (headline candidates: "speaker" only).
SPEAKER_PROTOCOLS = ("speaker", "speaker-norm")
#: The speaker protocol needs this many actors of each gender (one to test, one to train, per fold).
MIN_ACTORS_PER_GENDER = 2


class CorpusTooSmall(ValueError):
    """A corpus with too few actors for a protocol."""


def n_speaker_folds(table: pd.DataFrame, requested: int = 6) -> int:
    """Folds that keep at least one female and one male actor in every test fold.

    Raises :class:`CorpusTooSmall` when a gender has fewer than
    :data:`MIN_ACTORS_PER_GENDER` actors.
    """
    per_gender = table.groupby("gender")["actor"].nunique().reindex(list(config.GENDERS), fill_value=0)
    if per_gender.min() < MIN_ACTORS_PER_GENDER:
        counts = ", ".join(f"{count} {gender}" for gender, count in per_gender.items())
        raise CorpusTooSmall(f"the speaker-independent protocol needs at least {MIN_ACTORS_PER_GENDER} female and "
                             f"{MIN_ACTORS_PER_GENDER} male actors; this corpus has {counts}")
    return max(2, min(requested, int(per_gender.min())))


def fold_count(table: pd.DataFrame, protocol: str, requested: int = 6) -> int:
    """The folds ``protocol`` makes of ``table`` when ``requested`` are asked for.

    Speaker protocols are capped by the actors of the smaller gender (:func:`n_speaker_folds`), the random
    split by the clips of the smallest class (each fold tests at least one clip of every class). Fewer than
    two folds raise ``ValueError``.
    """
    if requested < 2:
        raise ValueError(f"{requested} fold(s) requested: cross-validation needs at least 2")
    if protocol in SPEAKER_PROTOCOLS:
        return n_speaker_folds(table, requested)
    if protocol == "random":
        return max(2, min(requested, int(_class_sizes(table).min())))
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}")


def _class_sizes(table: pd.DataFrame) -> pd.Series:
    """Clips per class present in ``table`` (a categorical's empty classes left out)."""
    sizes = table["label"].value_counts()
    return sizes[sizes > 0]


def folds_note(table: pd.DataFrame, requested: int, protocols=tuple(PROTOCOLS)) -> str:
    """One line per protocol that makes fewer folds of ``table`` than ``requested``, saying why ("" if none)."""
    lines = []
    for protocol in dict.fromkeys("speaker" if p in SPEAKER_PROTOCOLS else p for p in protocols):
        made = fold_count(table, protocol, requested)
        if made == requested:
            continue
        why = ("each test fold needs a female and a male actor, and the corpus has "
               f"{table.groupby('gender')['actor'].nunique().min()} actors of its smaller gender"
               if protocol == "speaker" else
               f"each fold tests a clip of every class, and the smallest class has {_class_sizes(table).min()} clips")
        lines.append(f"FOLDS={requested}: the {protocol} protocol uses {made} folds: {why}")
    return "\n".join(lines)


def make_folds(table: pd.DataFrame, protocol: str = "speaker", *, n_folds: int = 6, seed: int = config.DEFAULT_SEED):
    """Return ``[(train_index, test_index), ...]`` (positions in ``table``) for the protocol.

    The number of folds is ``n_folds``, capped as :func:`fold_count` says.

    >>> folds = make_folds(table, "speaker")  # doctest: +SKIP
    """
    count = fold_count(table, protocol, n_folds)
    if protocol in SPEAKER_PROTOCOLS:
        splitter = StratifiedGroupKFold(n_splits=count, shuffle=True, random_state=seed)
        return list(splitter.split(table, table["gender"], groups=table["actor"]))
    splitter = StratifiedKFold(n_splits=count, shuffle=True, random_state=seed)
    return list(splitter.split(table, table["label"]))


#: The share of the training clips that validates where no actor of each gender can be held out.
FALLBACK_VALIDATION_SHARE = 0.15


def validation_split(table: pd.DataFrame, train_index: np.ndarray, protocol: str, *, seed: int):
    """Split training rows into (fit, validation): one female and one male actor, or 15 % of clips.

    Under the speaker protocol with fewer than two training actors of a gender (a
    4-actor corpus), validation falls back to 15 % of the training actors' clips; the
    test actors stay unseen either way.
    """
    train = table.iloc[train_index]
    if protocol in SPEAKER_PROTOCOLS and holds_out_validation_actors(train):
        rng = np.random.default_rng(seed)
        held_out = [rng.choice(sorted(train.loc[train["gender"] == g, "actor"].unique())) for g in config.GENDERS]
        is_validation = train["actor"].isin(held_out).to_numpy()
        return train_index[~is_validation], train_index[is_validation]
    fit, validation = train_test_split(train_index, test_size=FALLBACK_VALIDATION_SHARE, stratify=train["label"],
                                       random_state=seed)
    return np.sort(fit), np.sort(validation)


def holds_out_validation_actors(train: pd.DataFrame) -> bool:
    """Whether each gender of these training clips has two actors or more, so that one of each is held out."""
    return bool(train.groupby("gender")["actor"].nunique().min() >= 2)


def validation_source(table: pd.DataFrame, folds: list[dict]) -> str:
    """What the validation clips of speaker-protocol ``folds`` (records with their ``test_actors``) are, for captions:
    held-out actors, or on a corpus with too few actors of a gender, clips of the training actors."""
    if all(holds_out_validation_actors(table[~table["actor"].isin(fold["test_actors"])]) for fold in folds):
        return "held-out actors"
    share = round(100 * FALLBACK_VALIDATION_SHARE)
    return f"{share} % of the training actors' clips (too few actors of a gender to hold one out)"


def normalise_per_speaker(features: np.ndarray, speakers) -> np.ndarray:
    """Z-score every feature over each speaker's clips (and frames, for matrices); labels are never read.

    The ``speaker-norm`` protocol's transform: each speaker's mean and standard
    deviation come from that speaker's clips alone, whatever their labels.
    """
    speakers = np.asarray(speakers)
    normalised = np.empty_like(features, dtype=np.float32)
    axes = tuple(range(features.ndim - 1))
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        mean = features[rows].mean(axis=axes, keepdims=True)
        std = features[rows].std(axis=axes, keepdims=True)
        normalised[rows] = (features[rows] - mean) / np.where(std > 1e-8, std, 1.0)
    return normalised


def fold_table(table: pd.DataFrame, folds) -> pd.DataFrame:
    """Test actors of each fold with their genders, and the clip counts (to show there is no overlap)."""
    rows = []
    for number, (train_index, test_index) in enumerate(folds):
        test = table.iloc[test_index]
        overlap = set(test["actor"]) & set(table.iloc[train_index]["actor"])
        rows.append({
            "fold": number,
            "test actors": ", ".join(f"{a:02d}{'M' if a % 2 else 'F'}" for a in sorted(test["actor"].unique())),
            "train clips": len(train_index), "test clips": len(test_index), "actors in both": len(overlap),
        })
    return pd.DataFrame(rows).set_index("fold")
