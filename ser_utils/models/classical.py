"""What the scikit-learn families share: a standardised pipeline, probabilities in label order, skops files.

A model folder is data that people share, so a fitted pipeline is saved with ``skops.io`` (scikit-learn's secure
persistence), never pickled: loading reads only the types that skops trusts plus :data:`TRUSTED_TYPES`, and refuses
any other type by name before anything of the file is built.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Model
from .fingerprint import ModelMismatch

#: Types of this project's pipelines that skops does not trust by default (scikit-learn's private helpers).
TRUSTED_TYPES = ("sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration")


class ClassicalModel(Model):
    """A scikit-learn classifier behind a ``StandardScaler``; subclasses implement :meth:`classifier`.

    Fits on all training rows (validation data, if given, is not needed: nothing stops early).
    """

    weights_file = "model.skops"

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
        import skops.io

        skops.io.dump(self.estimator, path)

    def _load_weights(self, path: Path) -> None:
        self.estimator = load_pipeline(path)

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        return (int(self.estimator.n_features_in_),), int(self.estimator.classes_.max()) + 1


def load_pipeline(path: Path):
    """The pipeline saved in the skops file ``path``; :class:`ModelMismatch` naming the file and the problem if it is
    not a skops file or holds a type outside skops's trusted set and :data:`TRUSTED_TYPES` (nothing is built then)."""
    import skops.io

    try:
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        pipeline = None if untrusted else skops.io.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as error:  # a malformed file fails anywhere in skops's reader; nothing has been built from it
        raise ModelMismatch(f"{path}: not a readable skops model file ({type(error).__name__}: {error})") from None
    if untrusted:
        raise ModelMismatch(f"{path}: refused: it holds types that no model of this project holds, through which "
                            f"loading could run code: {', '.join(untrusted)}")
    return pipeline
