"""``svm``: scikit-learn StandardScaler + RBF SVM on pooled MFCC statistics (the classical reference)."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np

from ..features import StatsRecipe
from . import Model


class SVMModel(Model):
    """RBF SVM with Platt-calibrated probabilities; ignores validation data (nothing to stop early)."""

    name = "svm"
    title = "SVM on MFCC statistics (classical reference)"
    weights_file = "model.joblib"
    defaults = {"C": 10.0}

    @classmethod
    def default_recipe(cls) -> StatsRecipe:
        """Mean and standard deviation over time of 40 MFCCs and their deltas (160 values)."""
        return StatsRecipe()

    def _fit(self, features: np.ndarray, targets: np.ndarray, validation) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        svm = SVC(C=self.params["C"], gamma="scale", random_state=self.seed)
        calibrated = CalibratedClassifierCV(svm, method="sigmoid", ensemble=False)
        self.estimator = make_pipeline(StandardScaler(), calibrated).fit(features, targets)

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        probabilities = np.zeros((len(features), len(self.labels)))
        probabilities[:, self.estimator.classes_] = self.estimator.predict_proba(features)
        return probabilities

    def _save_weights(self, path: Path) -> None:
        joblib.dump(self.estimator, path)

    def _load_weights(self, path: Path) -> None:
        self.estimator = joblib.load(path)

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        return (int(self.estimator.n_features_in_),), int(self.estimator.classes_.max()) + 1
