"""``svm``: RBF SVM on pooled MFCC statistics of the trimmed utterance (the classical reference)."""

from __future__ import annotations

from ..features import StatsRecipe
from .classical import ClassicalModel


class SVMModel(ClassicalModel):
    """RBF SVM (C=10) with Platt-calibrated probabilities, on standardised MFCC statistics."""

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
