"""One protocol's folds of a labels table, and every corrupted copy they use: computed once, read everywhere.

A :class:`FoldPlan` holds, for each fold, the clips that test, validate and fit it and the corrupted copies
its models train and are studied on, plus the copies the delivered model trains on. ``train_all`` makes one per
protocol (:func:`plan_folds`); the extraction of corrupted clips and every model's cross-validation read the
same plan, so they can never disagree on a fold, a validation actor or a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .augment import Augmentation, Corruption, study_corruptions
from .protocols import make_folds, validation_split


@dataclass(frozen=True, eq=False)
class Fold:
    """One fold: positions in the table of its clips, and its corrupted copies.

    ``fit`` is ``train`` without the validation actors. ``fit_copies`` are copies of the fit clips (babble from
    the speakers fitted on, never a validation or test speaker); ``refit_copies`` of every training clip, for
    families refitted without validation (the fit clips' copies are the same); ``studied`` is
    ``(condition, level, corruption)`` of the test clips under the robustness study.
    """

    number: int
    train: np.ndarray
    fit: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    fit_copies: tuple[Corruption, ...] = ()
    refit_copies: tuple[Corruption, ...] = ()
    studied: tuple[tuple[str, float, Corruption], ...] = ()


@dataclass(frozen=True, eq=False)
class FoldPlan:
    """A protocol's folds and the copies of every clip that the delivered model trains on."""

    protocol: str
    folds: tuple[Fold, ...]
    delivery_copies: tuple[Corruption, ...] = ()

    def training_copies(self) -> list[Corruption]:
        """Every corrupted copy a model of this plan trains on (each fold's, then the delivered model's)."""
        return [c for fold in self.folds for c in fold.fit_copies + fold.refit_copies] + list(self.delivery_copies)

    def studied_copies(self) -> list[Corruption]:
        """Every corrupted test clip of the robustness study."""
        return [c for fold in self.folds for *_, c in fold.studied]


def plan_folds(table: pd.DataFrame, protocol: str, *, n_folds: int, seed: int,
               augmentation: Augmentation | None = None, study: tuple[str, ...] = (), deliver: bool = True) -> FoldPlan:
    """The folds of ``protocol`` over ``table`` with their validation split and corrupted copies.

    No copies under ``speaker-norm`` (a copy would change a speaker's statistics); the study only under
    ``speaker``; the delivered model's copies (babble from every other speaker) only with ``deliver``. The copies
    of all folds are planned together, so that a clip's copy is one corrupted clip in as many folds as its babble
    allows (:meth:`~ser_utils.augment.Augmentation.planned_corruptions`).
    """
    augmentation = augmentation if protocol != "speaker-norm" else None
    study = tuple(study) if protocol == "speaker" else ()
    splits = []
    for number, (train, test) in enumerate(make_folds(table, protocol, n_folds=n_folds, seed=seed)):
        fit, validation = validation_split(table, train, protocol, seed=seed + number)
        splits.append((train, fit, validation, test))
    delivering = augmentation is not None and deliver
    everything = np.arange(len(table))
    uses = [use for train, fit, _, _ in splits for use in ((fit, fit), (train, fit))] + \
        ([(everything, everything)] if delivering else [])
    copies = [tuple(c) for c in augmentation.planned_corruptions(table, uses)] if augmentation else [()] * len(uses)
    folds = tuple(Fold(number, train, fit, validation, test, fit_copies=copies[2 * number],
                       refit_copies=copies[2 * number + 1],
                       studied=tuple(study_corruptions(table, test, study, seed=seed)) if study else ())
                  for number, (train, fit, validation, test) in enumerate(splits))
    return FoldPlan(protocol, folds, copies[-1] if delivering else ())
