"""A saved model run by ONNX Runtime: the same predictions as its family, without importing its framework.

Every network (:class:`~ser_utils.models.network.NetworkModel`) and every scikit-learn pipeline
(:class:`~ser_utils.models.classical.ClassicalModel`) also writes ``model.onnx`` when saved: a graph from the
features to the probabilities in label order. :func:`~ser_utils.models.load_model` runs that copy when ONNX Runtime is
installed, which starts in a fraction of TensorFlow's time, and imports neither scikit-learn nor skops. An ONNX file is
data: loading one runs no code of its author.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..onnx_sessions import inference_session
from . import Model
from .base import ONNX_FILE
from .fingerprint import ModelMismatch
from .registry import REGISTRY, model_class

#: Rows per run of the graph when predicting.
PREDICT_BATCH = 256
#: NumPy types of the graph input types that exports use.
INPUT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}


class OnnxModel(Model):
    """Inference only: a family's saved model read from its ONNX export (one output: probabilities in label order)."""

    name = "onnx"
    title = "model run by ONNX Runtime"
    weights_file = ONNX_FILE

    def __init__(self, labels, recipe=None, *, seed: int = 0, **params):
        super().__init__(labels, recipe, seed=seed)
        self.params = params

    @classmethod
    def load(cls, run_dir: str | Path, metadata: dict, *, runtime: str = "auto") -> Model:
        """The family's saved model, named and titled as the family, run from ``model.onnx``."""
        if metadata["model"] not in REGISTRY:
            raise ModelMismatch(f"{Path(run_dir) / 'metadata.json'}: unknown model {metadata['model']!r}; "
                                f"this version knows {sorted(REGISTRY)}")
        model = super().load(run_dir, metadata, runtime=runtime)
        model.name, model.title = metadata["model"], metadata.get("title", cls.title)
        return model

    @classmethod
    def _saved_hash(cls, metadata: dict) -> str | None:
        return metadata["exports"]["onnx"]["sha256"]

    def _fit(self, features, targets, validation) -> None:
        raise NotImplementedError(f"{self.name}: a model loaded from ONNX predicts only; train its family instead")

    def _save_weights(self, path: Path) -> None:
        raise NotImplementedError(f"{self.name}: a model loaded from ONNX predicts only; to save it again, load it "
                                  "with load_model(..., runtime='native')")

    def clone(self) -> Model:
        """A new, unfitted model of the family (which imports the family's framework)."""
        return model_class(self.name)(self.labels, self.recipe, seed=self.seed, **self.params)

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        graph_input = self.estimator.get_inputs()[0]
        features = np.asarray(features, dtype=INPUT_TYPES[graph_input.type])
        chunks = [self.estimator.run(None, {graph_input.name: features[i : i + PREDICT_BATCH]})[0]
                  for i in range(0, len(features), PREDICT_BATCH)]
        return np.concatenate(chunks)

    def _load_weights(self, path: Path) -> None:
        try:
            self.estimator = inference_session(path)
        except Exception as error:  # ONNX Runtime's own exception types (invalid protobuf, graph, ...)
            raise ModelMismatch(f"{path}: not a readable ONNX model file ({type(error).__name__}: {error})") from None
        inputs, outputs = self.estimator.get_inputs(), self.estimator.get_outputs()
        fixed = (len(inputs) == len(outputs) == 1 and all(isinstance(size, int) for size in inputs[0].shape[1:])
                 and isinstance(outputs[0].shape[-1], int))
        if not fixed or inputs[0].type not in INPUT_TYPES:
            raise ModelMismatch(f"{path}: not a model graph of this project (it must take one batch of features, "
                                f"float32 or float64, of fixed size, and give one row of probabilities per clip)")

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        return tuple(self.estimator.get_inputs()[0].shape[1:]), int(self.estimator.get_outputs()[0].shape[-1])
