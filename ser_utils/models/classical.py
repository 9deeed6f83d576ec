"""What the scikit-learn families share: a standardised pipeline, probabilities in label order, skops files.

A model folder is data that people share, so a fitted pipeline is saved with ``skops.io`` (scikit-learn's secure
persistence), never pickled: loading reads only the types that skops trusts plus :data:`TRUSTED_TYPES`, and refuses
any other type by name before anything of the file is built. Saving also writes ``model.onnx`` (``skl2onnx``, in
double precision except the SVM's kernel, which ONNX computes in single: the same probabilities to ~1e-6), which
prediction runs without importing scikit-learn or skops: a cold ``ser predict`` saves their imports (about a second).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import Model
from .base import ONNX_INPUT
from .fingerprint import ModelMismatch

#: Types of this project's pipelines that skops does not trust by default (scikit-learn's private helpers).
TRUSTED_TYPES = ("sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration")


class ClassicalModel(Model):
    """A scikit-learn classifier behind a ``StandardScaler``; subclasses implement :meth:`classifier`.

    Fits on all training rows (validation data, if given, is not needed: nothing stops early).
    """

    weights_file = "model.skops"
    exports_onnx = True

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

    def _write_onnx(self, path: Path) -> None:
        """The pipeline as ONNX, so that prediction runs without scikit-learn."""
        export_onnx(self.estimator, path, len(self.labels))

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        """Its input width, and as many outputs as labels when its classes fit in them (:meth:`_predict_proba`
        gives a class it never saw probability 0)."""
        highest = int(self.estimator.classes_.max())
        return (int(self.estimator.n_features_in_),), len(self.labels) if highest < len(self.labels) else highest + 1


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


def export_onnx(pipeline, path: Path, n_labels: int) -> None:
    """Write ``pipeline``'s probabilities as an ONNX graph to ``path``: float64 features in, one output of
    ``n_labels`` columns in label order (the pipeline's ``classes_`` placed into their columns, others 0)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType

    features = [(ONNX_INPUT, DoubleTensorType([None, int(pipeline.n_features_in_)]))]
    with warnings.catch_warnings():  # skl2onnx reads SVC's probA_/probB_, which scikit-learn 1.9 deprecates
        warnings.simplefilter("ignore", FutureWarning)
        proto = to_onnx(pipeline, initial_types=features, options={"zipmap": False},
                        target_opset={"": 17, "ai.onnx.ml": 3})
    placement = np.zeros((len(pipeline.classes_), n_labels))
    placement[np.arange(len(pipeline.classes_)), pipeline.classes_] = 1.0
    graph = proto.graph
    graph.initializer.append(numpy_helper.from_array(placement, "label_columns"))
    graph.node.append(helper.make_node("MatMul", ["probabilities", "label_columns"], ["label_probabilities"]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("label_probabilities", TensorProto.DOUBLE, [None, n_labels]))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
