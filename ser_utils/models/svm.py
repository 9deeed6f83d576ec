"""``svm``: RBF SVM on pooled MFCC statistics of the trimmed utterance (the classical reference)."""

from __future__ import annotations

from ..features import StatsRecipe
from .classical import ClassicalModel


class SVMModel(ClassicalModel):
    """RBF SVM (C=10) with Platt-calibrated probabilities, on standardised MFCC statistics.

    ``C`` measured on real RAVDESS (12 actors, speaker protocol, 6 folds, the factorised model, 2026-12-03, on a
    slower machine): C 1, 3, 10, 30 gave UAR 0.581, 0.585, 0.590, 0.590 (validation 0.583, 0.594, 0.596, 0.596):
    within a point, flat from 10 on.
    """

    name = "svm"
    title = "SVM on MFCC statistics"
    defaults = {"C": 10.0}

    @classmethod
    def default_recipe(cls) -> StatsRecipe:
        """Mean and standard deviation over the trimmed speech of 40 MFCCs and their deltas (160 values)."""
        return StatsRecipe()

    def classifier(self):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        svm = SVC(C=self.params["C"], gamma="scale", random_state=self.seed)
        return CalibratedClassifierCV(svm, method="sigmoid", ensemble=False)
