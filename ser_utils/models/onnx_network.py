"""A saved network run by ONNX Runtime: the same predictions as Keras, without importing TensorFlow.

Every network saved by :class:`~ser_utils.models.network.NetworkModel` also writes
``model.onnx`` (its inference graph); :func:`~ser_utils.models.load_model` runs that copy
when ONNX Runtime is installed, which starts in a fraction of TensorFlow's time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..onnx_sessions import inference_session
from . import Model

ONNX_FILE = "model.onnx"
#: Name of the graph's input (a batch of feature matrices, float32).
ONNX_INPUT = "features"
#: Rows per run of the graph when predicting.
PREDICT_BATCH = 256


class OnnxNetwork(Model):
    """Inference only: a network family's saved model read from its ONNX export."""

    name = "onnx"
    title = "network run by ONNX Runtime"
    weights_file = ONNX_FILE

    def __init__(self, labels, recipe=None, *, seed: int = 0, **params):
        super().__init__(labels, recipe, seed=seed)
        self.params = params

    @classmethod
    def load(cls, run_dir: str | Path, metadata: dict) -> Model:
        """The family's saved model, named and titled as the family, run from ``model.onnx``."""
        model = super().load(run_dir, metadata)
        model.name, model.title = metadata["model"], metadata.get("title", cls.title)
        return model

    @classmethod
    def _saved_hash(cls, metadata: dict) -> str | None:
        return metadata["exports"]["onnx"]["sha256"]

    def _fit(self, features, targets, validation) -> None:
        raise NotImplementedError(f"{self.name}: a model loaded from ONNX predicts only; train its family instead")

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=np.float32)
        chunks = [self.estimator.run(None, {ONNX_INPUT: features[i : i + PREDICT_BATCH]})[0]
                  for i in range(0, len(features), PREDICT_BATCH)]
        return np.concatenate(chunks)

    def _load_weights(self, path: Path) -> None:
        self.estimator = inference_session(path)

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        return tuple(self.estimator.get_inputs()[0].shape[1:]), int(self.estimator.get_outputs()[0].shape[-1])
