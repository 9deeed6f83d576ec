"""The interface every model family implements (:class:`Model`), in scikit-learn's spirit: ``fit``,
``predict_proba``, ``clone``, ``save`` and ``load``, with the feature recipe it reads and a fingerprint checked on
load."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import config
from ..calibration import with_temperature
from ..features import Recipe, recipe_from_dict
from ..storage import atomic_path, write_json
from .fingerprint import ModelMismatch, check_metadata, sha256

#: The copy of a saved model that prediction runs with ONNX Runtime (:mod:`ser_utils.models.onnx_model`).
ONNX_FILE = "model.onnx"
#: Name of the ONNX graph's input (a batch of features: float32 for networks, float64 for scikit-learn pipelines).
ONNX_INPUT = "features"


class Model:
    """A model family: subclasses set the class attributes and implement the four ``_`` hooks.

    ``labels`` are the class names in output-column order; ``recipe`` the features the
    model reads (default: :meth:`default_recipe`); ``params`` override the family's
    :attr:`defaults` (unknown names are refused).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    weights_file: ClassVar[str]
    defaults: ClassVar[dict] = {}
    #: True for families that need held-out validation data to fit (early stopping)
    uses_validation: ClassVar[bool] = False
    #: False for composite models whose members each read their own features (no recipe of their own)
    reads_features: ClassVar[bool] = True
    #: True for families whose probabilities the training loop calibrates (a temperature fitted on validation
    #: actors): chosen where that lowered the expected calibration error on real RAVDESS (benchmarks/EXPERIMENTS.md)
    calibrate: ClassVar[bool] = False
    #: True for families trained on corrupted copies when the training loop is given an augmentation
    augments: ClassVar[bool] = True
    #: True for families that also save :data:`ONNX_FILE` (:meth:`_write_onnx`), which prediction runs
    exports_onnx: ClassVar[bool] = False

    def __init__(self, labels, recipe: Recipe | None = None, *, seed: int = config.DEFAULT_SEED, **params):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise TypeError(f"model {self.name!r} has no parameter(s) {sorted(unknown)}; it takes {sorted(self.defaults)}")
        self.labels = list(labels)
        self.recipe = recipe if recipe is not None else self.default_recipe()
        self.seed = seed
        self.params = self.defaults | params
        self.estimator = None
        self.history: dict[str, list[float]] = {}
        self.metadata: dict = {}
        #: divides the log-probabilities (fitted on validation actors by the training loop; 1 = as trained)
        self.temperature = 1.0
        #: how a loaded composite model loaded its parts (see :func:`~ser_utils.models.load_model`)
        self.runtime = "auto"
        #: the ONNX copy of the fitted model, once converted (:meth:`_export`); forgotten when it is fitted again
        self._onnx_graph: bytes | None = None

    # ----------------------------------------------------------------- what a family implements

    @classmethod
    def default_recipe(cls) -> Recipe:
        """The feature recipe this family is designed for."""
        raise NotImplementedError

    def _fit(self, features: np.ndarray, targets: np.ndarray, validation) -> None:
        """Fit :attr:`estimator` (and fill :attr:`history` for networks)."""
        raise NotImplementedError

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities of a checked batch."""
        raise NotImplementedError

    def _save_weights(self, path: Path) -> None:
        """Write the fitted estimator to ``path``."""
        raise NotImplementedError

    def _load_weights(self, path: Path) -> None:
        """Read :attr:`estimator` from ``path``."""
        raise NotImplementedError

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        """(input shape per clip, number of output classes) of the fitted estimator."""
        raise NotImplementedError

    def _write_onnx(self, path: Path) -> None:
        """Write the fitted model to ``path`` as an ONNX graph: input :data:`ONNX_INPUT`, one output, the
        probabilities in label order (families with :attr:`exports_onnx`)."""
        raise NotImplementedError

    def _export(self, run_dir: Path) -> dict:
        """Write other runtimes' copies of the fitted model into ``run_dir``; return {runtime: file}.

        The ONNX graph is converted once per fit and written again on later saves: a delivered or first-fold model
        is saved as its run's model and again as a member of the ensemble's."""
        if not self.exports_onnx:
            return {}
        with atomic_path(run_dir / ONNX_FILE) as tmp:
            if self._onnx_graph is None:
                self._write_onnx(tmp)
                self._onnx_graph = tmp.read_bytes()
            else:
                tmp.write_bytes(self._onnx_graph)
        return {"onnx": ONNX_FILE}

    @classmethod
    def _saved_hash(cls, metadata: dict) -> str | None:
        """The SHA-256 that :attr:`weights_file` had when saved (None if not recorded)."""
        return metadata.get("fingerprint", {}).get("weights_sha256")

    # ----------------------------------------------------------------- the interface

    @property
    def sample_rate(self) -> int:
        """The rate, in Hz, the model reads audio at."""
        return self.recipe.sample_rate

    @property
    def res_type(self) -> str:
        """The resampler the model's features were computed with."""
        return self.recipe.res_type

    @property
    def epochs_run(self) -> int:
        """Epochs trained (0 for models that are not trained by epochs)."""
        return len(self.history.get("loss", []))

    def clone(self) -> Model:
        """A new, unfitted model of the same family with the same labels, recipe, seed and parameters (as
        scikit-learn's ``clone``)."""
        return type(self)(self.labels, self.recipe, seed=self.seed, **self.params)

    def fit(self, features: np.ndarray, targets: np.ndarray, validation=None) -> Model:
        """Fit on ``features`` (a batch of :attr:`recipe`'s shape) and integer ``targets``.

        ``validation`` is ``(features, targets)`` of held-out data, used by families
        that stop early; others ignore it. Returns the model.
        """
        self.check_features(features)
        self._onnx_graph = None
        self._fit(features, np.asarray(targets), validation)
        return self

    def check_features(self, features: np.ndarray) -> None:
        """Raise :class:`ModelMismatch` unless ``features`` are a batch of this recipe's shape, ``ValueError``
        unless they are finite numbers (no runtime is trusted to refuse them: ONNX's SVM answers infinities)."""
        expected = tuple(self.recipe.shape)
        if features.ndim != len(expected) + 1 or tuple(features.shape[1:]) != expected:
            raise ModelMismatch(
                f"model {self.name!r} expects a batch of {self.recipe.kind} features of shape {expected} "
                f"(recipe {self.recipe.to_dict()}), got an array of shape {features.shape}"
            )
        if not np.isfinite(features).all():
            raise ValueError(f"model {self.name!r}: features that are not finite numbers (NaN or infinite)")

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per clip, columns in :attr:`labels` order."""
        if self.estimator is None:
            raise RuntimeError(f"model {self.name!r} is not fitted; call fit() or load_model()")
        self.check_features(features)
        return self.apply_temperature(self._predict_proba(features))

    def apply_temperature(self, probabilities: np.ndarray) -> np.ndarray:
        """``probabilities`` re-scaled by the model's :attr:`temperature` (see :mod:`ser_utils.calibration`)."""
        return with_temperature(np.asarray(probabilities, dtype=np.float64), self.temperature)

    def predict_clips(self, clips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per clip (mono, at :attr:`sample_rate`, any length): (segment starts in s, segment probabilities).

        Segments are the recipe's (:meth:`~ser_utils.features.Recipe.segments`); all
        clips' segments go through the model in one batch.
        """
        segmented = [self.recipe.segments(samples) for samples in clips]
        batch = np.stack([self.recipe.transform(segment) for segments in segmented for _, segment in segments])
        probabilities = self.predict_proba(batch)
        bounds = np.cumsum([0] + [len(segments) for segments in segmented])
        return [(np.array([start for start, _ in segments]) / self.sample_rate, probabilities[a:b])
                for segments, a, b in zip(segmented, bounds[:-1], bounds[1:])]

    def fingerprint(self, weights: Path) -> dict:
        """What the saved model expects, checked on load: labels, recipe, shapes, a hash of the weights."""
        input_shape, n_outputs = self._io_shapes()
        return {"labels": self.labels, "recipe": self.recipe.to_dict(), "input_shape": list(input_shape),
                "n_outputs": n_outputs, "weights_sha256": sha256(weights)}

    def save(self, run_dir: str | Path) -> Path:
        """Write the weights file and ``metadata.json`` atomically into ``run_dir``; return ``run_dir``."""
        run_dir = Path(run_dir)
        target = run_dir / self.weights_file
        with atomic_path(target) as tmp:
            self._save_weights(tmp)
        exports = {runtime: {"file": name, "sha256": sha256(run_dir / name)}
                   for runtime, name in self._export(run_dir).items()}
        metadata = self.metadata | {
            "model": self.name, "title": self.title, "model_file": self.weights_file, "params": self.params,
            "seed": self.seed, "temperature": self.temperature, "labels": self.labels, "recipe": None if self.recipe is None else self.recipe.to_dict(),
            "fingerprint": self.fingerprint(target) | {"temperature": self.temperature}, "exports": exports,
        }
        write_json(run_dir / "metadata.json", metadata)
        return run_dir

    @classmethod
    def load(cls, run_dir: str | Path, metadata: dict, *, runtime: str = "auto") -> Model:
        """Rebuild a model saved by :meth:`save` and check it against its fingerprint (``runtime``: for the parts of
        a composite model, as :func:`~ser_utils.models.load_model`'s)."""
        run_dir = Path(run_dir)
        check_metadata(run_dir, metadata, needs_recipe=cls.reads_features)
        recipe = recipe_from_dict(metadata["recipe"]) if metadata.get("recipe") else None
        model = cls(metadata["labels"], recipe, seed=metadata.get("seed", 0), **metadata.get("params", {}))
        model.metadata = metadata
        model.temperature = float(metadata.get("temperature", 1.0))
        model.runtime = runtime
        weights = run_dir / cls.weights_file
        if cls._saved_hash(metadata) not in (None, sha256(weights)):
            raise ModelMismatch(f"{weights}: weights file changed since it was saved (hash differs)")
        model._load_weights(weights)
        input_shape, n_outputs = model._io_shapes()
        expected_shape = () if model.recipe is None else tuple(model.recipe.shape)
        if tuple(input_shape) != expected_shape or n_outputs != len(model.labels):
            raise ModelMismatch(
                f"{run_dir}: the model takes {tuple(input_shape)} and gives {n_outputs} classes, but its metadata "
                f"says {model.recipe.kind} features of shape {tuple(model.recipe.shape)} and {len(model.labels)} labels"
            )
        return model
