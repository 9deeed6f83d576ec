"""What the Keras families share: seeding, fitting with early stopping on held-out data, saving.

Importing this module imports Keras (TensorFlow backend); only the network families do.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

# 3 hides TensorFlow's C++ log lines once its logger is set up; real errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what native code writes to file descriptor 2 to /dev/null for the duration.

    TensorFlow's start-up lines (oneDNN notice, "could not find cuda drivers", written
    before its logger reads TF_CPP_MIN_LOG_LEVEL) read as errors on a CPU machine.
    Python exceptions are unaffected: they propagate after the descriptor is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# openSMILE's native library must be loaded before TensorFlow's: loaded after it, the first
# extractor corrupts the heap ("malloc(): invalid size"), which kills an ensemble's prediction.
if "opensmile" not in sys.modules and "tensorflow" in sys.modules:
    raise ImportError("TensorFlow was imported before openSMILE, whose native library then corrupts the heap: "
                      "import opensmile (or ser_utils.models.network) before tensorflow or keras")
import opensmile  # noqa: E402, F401


def _one_thread_per_process(tensorflow) -> None:
    """Run TensorFlow's operations on one thread in this process (before anything starts its runtime).

    These networks are too small for TensorFlow to spread one batch over cores: on 2 cores an epoch of the CNN
    took 1.14 s on one thread and 1.17 s on two. The cores are used by training folds side by side instead
    (:func:`~ser_utils.training.cross_validate`), one process each, without their threads competing. One thread
    everywhere also makes a fold's network the same whichever process or machine trains it.
    """
    try:
        tensorflow.config.threading.set_intra_op_parallelism_threads(1)
        tensorflow.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # something ran TensorFlow in this process before this module: its threads are set
        import warnings

        warnings.warn("TensorFlow ran before ser_utils.models.network was imported, so it keeps its own thread count "
                      "in this process: networks trained here can differ slightly from those the folds' workers train",
                      RuntimeWarning, stacklevel=2)


with _native_stderr_silenced():
    import tensorflow  # noqa: E402

    _one_thread_per_process(tensorflow)  # before Keras: importing Keras starts TensorFlow's runtime
    import keras  # noqa: E402

from . import Model  # noqa: E402
from .fingerprint import ModelMismatch  # noqa: E402
from .base import ONNX_INPUT  # noqa: E402

#: Rows per forward pass when predicting (a direct call: far less overhead than ``Model.predict``).
PREDICT_BATCH = 256


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic.

    Determinism costs about 5 % of the CNN's training time on one thread (6 epochs of 320 clips, 3 runs each on a slow
    2-core machine, 2026-12-03: 11.0-11.2 s against 10.3-10.9 s). It also turns off XLA (Keras's ``jit_compile``), which
    lost anyway: forced on without determinism, an epoch took 2.4 s instead of 1.1, after about 28 s of compiling.
    Ten training steps per call (``steps_per_execution``) saved nothing (12 epochs in 17.2 s against 17.3): the time of
    a step is TensorFlow's ops, not Python's.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class NetworkModel(Model):
    """A Keras network trained by epochs; subclasses implement :meth:`build`.

    Given held-out data, validates after every epoch on it, stops when validation loss has
    not improved for ``patience`` epochs (best weights restored) and, if ``reduce_lr`` is set,
    halves the learning rate on plateaus. The first ``warmup_epochs`` epochs are never kept nor counted towards the
    patience (so a run stops early at ``warmup_epochs + patience + 1`` epochs at the soonest): while a network starts
    to learn, its validation loss can stay above the first epoch's for ten epochs on new voices (confidently wrong
    before it is right), and early stopping then restored the first epoch's weights: a network at chance (UAR 0.100 on
    a fold of real RAVDESS, seen in 3 of 108 folds of the CNN's variants, 2026-12-03). Without held-out data (the
    delivered model, fitted on every actor), trains for exactly ``epochs`` epochs at the per-epoch ``learning_rates``
    if given (a fold's schedule, replayed: :func:`~ser_utils.training.delivered_schedule`).
    """

    weights_file = "model.keras"
    exports_onnx = True
    defaults = {"epochs": 40, "batch_size": 32, "patience": 10, "warmup_epochs": 10, "learning_rates": None}
    reduce_lr = False
    uses_validation = True

    def build(self, input_shape: tuple[int, ...], n_classes: int, train_features: np.ndarray):
        """Return a compiled, untrained ``keras.Model``."""
        raise NotImplementedError

    def layer_seed(self) -> int:
        """A seed for the next random initialiser or layer :meth:`build` creates, drawn from the model's seed.

        Keras draws the seed of an unseeded one from Python's global random generator, which other threads of the
        process also draw from (a Dask worker's do, while it runs a task): seeded here, a fold's network is the
        same whichever process or machine trains it.
        """
        self._next_layer_seed += 1
        return self.seed * 1000 + self._next_layer_seed

    def initial_weights(self):
        """Keras's default initialiser of a layer's weights (Glorot uniform), seeded by :meth:`layer_seed`."""
        return keras.initializers.GlorotUniform(seed=self.layer_seed())

    def _fit(self, features: np.ndarray, targets: np.ndarray, validation) -> None:
        set_seed(self.seed)
        self._next_layer_seed = 0
        self.estimator = self.build(features.shape[1:], len(self.labels), features)
        history = self.estimator.fit(features, targets, validation_data=validation, epochs=self.params["epochs"],
                                     batch_size=self.params["batch_size"], callbacks=self._callbacks(validation),
                                     verbose=0, shuffle=True)
        self.history = {key: [float(v) for v in values] for key, values in history.history.items()}

    def _callbacks(self, validation) -> list:
        """Early stopping (and learning-rate halving) on held-out data; without it, the replayed learning rates."""
        if validation is None:
            rates = self.params["learning_rates"]
            return [keras.callbacks.LearningRateScheduler(lambda epoch, rate: rates[epoch])] if rates else []
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.params["patience"],
                                                   start_from_epoch=self.params["warmup_epochs"],
                                                   restore_best_weights=True)]
        if self.reduce_lr:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5))
        return callbacks

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        chunks = [self.estimator(features[i : i + PREDICT_BATCH], training=False)
                  for i in range(0, len(features), PREDICT_BATCH)]
        return np.concatenate([np.asarray(chunk) for chunk in chunks])

    def _save_weights(self, path: Path) -> None:
        self.estimator.save(path)

    def _load_weights(self, path: Path) -> None:
        """Keras's safe mode: a file holding code (a ``Lambda`` layer's bytecode) is refused, not run."""
        try:
            self.estimator = keras.saving.load_model(path, safe_mode=True)
        except ValueError as error:
            if "safe_mode" not in str(error):
                raise
            raise ModelMismatch(f"{path}: refused: it holds code (a Lambda layer), which Keras's safe mode never "
                                "loads; no network of this project holds any") from None

    def _write_onnx(self, path: Path) -> None:
        """The inference graph as ONNX, so that prediction runs without TensorFlow."""
        export_onnx(self.estimator, path, tuple(self.recipe.shape))

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        return tuple(self.estimator.input_shape[1:]), int(self.estimator.output_shape[-1])



def export_onnx(estimator, path: Path, input_shape: tuple[int, ...]) -> None:
    """Write ``estimator``'s inference graph (``training=False``) to ``path`` as ONNX.

    Tensors the graph captures as constants (the normalisation layer's mean and variance)
    would become extra graph inputs; they are stored in the file as initialisers instead.
    """
    import logging

    import onnx
    import tensorflow as tf
    import tf2onnx
    from onnx import numpy_helper

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    function = tf.function(lambda features: estimator(features, training=False))
    signature = (tf.TensorSpec((None, *input_shape), tf.float32, name=ONNX_INPUT),)
    traced = function.get_concrete_function(*signature)
    captured = {inner.name: outer for outer, inner in zip(traced.captured_inputs, traced.graph.internal_captures)}
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=17)
    for graph_input in [entry for entry in proto.graph.input if entry.name != ONNX_INPUT]:
        proto.graph.initializer.append(numpy_helper.from_array(np.asarray(captured[graph_input.name]), graph_input.name))
        proto.graph.input.remove(graph_input)
    onnx.save(proto, str(path))
