"""What the scikit-learn families share: a standardised pipeline, probabilities in label order, joblib files."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np

from . import Model


class ClassicalModel(Model):
    """A scikit-learn classifier behind a ``StandardScaler``; subclasses implement :meth:`classifier`.

    Fits on all training rows (validation data, if given, is not needed: nothing stops early).
    """

    weights_file = "model.joblib"

    def classifier(self):
        """A new, unfitted scikit-learn classifier with ``predict_proba``."""
        raise NotImplementedError

    def _fit(self, features: np.ndarray, targets: np.ndarray, validation) -> None:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.estimator = make_pipeline(StandardScaler(), self.classifier()).fit(features, targets)

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
