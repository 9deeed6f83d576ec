"""What the Keras families share: seeding, fitting with early stopping on held-out data, saving.

Importing this module imports Keras (TensorFlow backend); only the network families do.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# 3 hides TensorFlow's C++ start-up lines (the CUDA probe fails on CPU machines); real errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# openSMILE's native library must be loaded before TensorFlow's: loaded after it, the first
# extractor corrupts the heap ("malloc(): invalid size"), which kills an ensemble's prediction.
import opensmile  # noqa: E402, F401
import keras  # noqa: E402

from . import Model  # noqa: E402

#: Rows per forward pass when predicting (a direct call: far less overhead than ``Model.predict``).
PREDICT_BATCH = 256


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class NetworkModel(Model):
    """A Keras network trained by epochs; subclasses implement :meth:`build`.

    Validates after every epoch on the held-out data, stops when validation loss has
    not improved for ``patience`` epochs (best weights restored) and, if
    ``reduce_lr`` is set, halves the learning rate on plateaus.
    """

    weights_file = "model.keras"
    defaults = {"epochs": 40, "batch_size": 32, "patience": 10}
    reduce_lr = False
    uses_validation = True

    def build(self, input_shape: tuple[int, ...], n_classes: int, train_features: np.ndarray):
        """Return a compiled, untrained ``keras.Model``."""
        raise NotImplementedError

    def _fit(self, features: np.ndarray, targets: np.ndarray, validation) -> None:
        if validation is None:
            raise ValueError(f"model {self.name!r} needs validation data (features, targets) to stop early")
        set_seed(self.seed)
        self.estimator = self.build(features.shape[1:], len(self.labels), features)
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.params["patience"],
                                                   restore_best_weights=True)]
        if self.reduce_lr:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5))
        history = self.estimator.fit(features, targets, validation_data=validation, epochs=self.params["epochs"],
                                     batch_size=self.params["batch_size"], callbacks=callbacks, verbose=0, shuffle=True)
        self.history = {key: [float(v) for v in values] for key, values in history.history.items()}

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        chunks = [self.estimator(features[i : i + PREDICT_BATCH], training=False)
                  for i in range(0, len(features), PREDICT_BATCH)]
        return np.concatenate([np.asarray(chunk) for chunk in chunks])

    def _save_weights(self, path: Path) -> None:
        self.estimator.save(path)

    def _load_weights(self, path: Path) -> None:
        self.estimator = keras.saving.load_model(path)

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        return tuple(self.estimator.input_shape[1:]), int(self.estimator.output_shape[-1])

