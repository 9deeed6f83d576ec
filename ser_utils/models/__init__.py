"""Model families behind one interface, and a registry that maps names to them.

Every family is a :class:`Model`: it declares the feature recipe it is built for,
and offers ``fit``, ``predict_proba``, ``save`` and ``load``, in scikit-learn's spirit.
A family lives in its own module and is listed once in :data:`REGISTRY`, with the protocols it
is evaluated under (the training plans of ``make report`` and ``make accuracy`` are derived from
it); the module is imported only when the family is used, so scikit-learn families never import Keras.

>>> model = build_model("svm", labels=["calm", "angry"])  # doctest: +SKIP
>>> model.fit(train_features, train_targets).predict_proba(test_features)  # doctest: +SKIP

Adding a family: write ``ser_utils/models/<family>.py`` with a :class:`Model` subclass,
and add one line to :data:`REGISTRY`: ``make report`` and ``make accuracy`` then train and evaluate it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import config
from ..calibration import with_temperature
from ..features import Recipe, recipe_from_dict
from ..storage import atomic_path, read_json, write_json

#: Every evaluation protocol (:data:`ser_utils.protocols.PROTOCOLS`, spelled here so that planning imports nothing).
ALL_PROTOCOLS = ("speaker", "speaker-norm", "random")
#: Networks normalise their own input, so they are not run under ``speaker-norm``.
NETWORK_PROTOCOLS = ("speaker", "random")


@dataclass(frozen=True)
class Family:
    """Where a model family lives and which protocols the plans run it under.

    ``target`` is ``"module:Class"``, the module relative to this package (or absolute if it holds a dot);
    ``protocols`` those ``make accuracy`` evaluates it under; ``report`` those ``make report`` trains it under
    (fewer for costly families, to keep the report within its time budget).
    """

    target: str
    protocols: tuple[str, ...] = ALL_PROTOCOLS
    report: tuple[str, ...] = ALL_PROTOCOLS


#: model name -> its :class:`Family`, imported on first use. The ensemble comes last: it is built from the others.
REGISTRY = {
    "svm": Family("svm:SVMModel"),
    "egemaps_lr": Family("linear:EGeMAPSModel"),
    "compare_lr": Family("linear:ComParEModel"),
    "svm_factorised": Family("factorised:FactorisedSVM", report=("speaker",)),
    "egemaps_lr_factorised": Family("factorised:FactorisedEGeMAPS", report=("speaker",)),
    "compare_lr_factorised": Family("factorised:FactorisedComParE", report=("speaker",)),
    "cnn": Family("cnn:CNNModel", protocols=NETWORK_PROTOCOLS, report=("speaker",)),
    "seed_cnn": Family("seed_cnn:SeedCNNModel", protocols=NETWORK_PROTOCOLS, report=("speaker",)),
    "ensemble": Family("ensemble:EnsembleModel"),
}


class ModelMismatch(ValueError):
    """Features, labels or weights that do not match what a model was trained and saved with."""


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
    #: actors): chosen where that lowered the expected calibration error on real RAVDESS (see the README)
    calibrate: ClassVar[bool] = False
    #: True for families trained on corrupted copies when the training loop is given an augmentation
    augments: ClassVar[bool] = True

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

    def _export(self, run_dir: Path) -> dict:
        """Write other runtimes' copies of the fitted model into ``run_dir``; return {runtime: file}."""
        return {}

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
        self._fit(features, np.asarray(targets), validation)
        return self

    def check_features(self, features: np.ndarray) -> None:
        """Raise :class:`ModelMismatch` unless ``features`` are a batch of this recipe's shape."""
        expected = tuple(self.recipe.shape)
        if features.ndim != len(expected) + 1 or tuple(features.shape[1:]) != expected:
            raise ModelMismatch(
                f"model {self.name!r} expects a batch of {self.recipe.kind} features of shape {expected} "
                f"(recipe {self.recipe.to_dict()}), got an array of shape {features.shape}"
            )

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
                "n_outputs": n_outputs, "weights_sha256": _sha256(weights)}

    def save(self, run_dir: str | Path) -> Path:
        """Write the weights file and ``metadata.json`` atomically into ``run_dir``; return ``run_dir``."""
        run_dir = Path(run_dir)
        target = run_dir / self.weights_file
        with atomic_path(target) as tmp:
            self._save_weights(tmp)
        exports = {runtime: {"file": name, "sha256": _sha256(run_dir / name)}
                   for runtime, name in self._export(run_dir).items()}
        metadata = self.metadata | {
            "model": self.name, "title": self.title, "model_file": self.weights_file, "params": self.params,
            "seed": self.seed, "temperature": self.temperature, "labels": self.labels, "recipe": None if self.recipe is None else self.recipe.to_dict(),
            "fingerprint": self.fingerprint(target), "exports": exports,
        }
        write_json(run_dir / "metadata.json", metadata)
        return run_dir

    @classmethod
    def load(cls, run_dir: str | Path, metadata: dict) -> Model:
        """Rebuild a model saved by :meth:`save` and check it against its fingerprint."""
        run_dir = Path(run_dir)
        check_metadata(run_dir, metadata, needs_recipe=cls.reads_features)
        recipe = recipe_from_dict(metadata["recipe"]) if metadata.get("recipe") else None
        model = cls(metadata["labels"], recipe, seed=metadata.get("seed", 0), **metadata.get("params", {}))
        model.metadata = metadata
        model.temperature = float(metadata.get("temperature", 1.0))
        weights = run_dir / cls.weights_file
        if cls._saved_hash(metadata) not in (None, _sha256(weights)):
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


def check_metadata(run_dir: Path, metadata: dict, *, needs_recipe: bool) -> None:
    """Raise :class:`ModelMismatch` if ``metadata.json`` lacks what the model needs or disagrees with its fingerprint.

    The fingerprint is what the model was saved with; an edited label list or recipe
    would otherwise give confident answers under the wrong names or from the wrong features.
    """
    where = run_dir / "metadata.json"
    missing = [key for key in ("labels", "fingerprint") + (("recipe",) if needs_recipe else ()) if not metadata.get(key)]
    if missing:
        raise ModelMismatch(f"{where}: lacks {', '.join(missing)}; re-train the model (`make report`)")
    fingerprint = metadata["fingerprint"]
    if fingerprint.get("labels", metadata["labels"]) != metadata["labels"]:
        raise ModelMismatch(f"{where}: labels {metadata['labels']} differ from those the model was saved with "
                            f"{fingerprint['labels']} (edited?)")
    if needs_recipe and fingerprint.get("recipe", metadata["recipe"]) != metadata["recipe"]:
        raise ModelMismatch(f"{where}: the feature recipe differs from the one the model was saved with (edited?)")
    temperature = metadata.get("temperature", 1.0)
    if not _is_positive_number(temperature):
        raise ModelMismatch(f"{where}: temperature {temperature!r} is not a finite number > 0 (edited?); it divides "
                            "the log-probabilities, so anything else gives NaN or reversed answers")


def _is_positive_number(value) -> bool:
    """True for a finite number above 0 (a JSON number: not a string, not true/false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_parts(parts: dict[str, Model], folder: Path, listing: Path) -> None:
    """Save each sub-model of a composite model into ``folder/<name>`` and their weights' hashes into ``listing``."""
    for name, part in parts.items():
        part.save(folder / name)
    write_json(listing, {name: _sha256(folder / name / part.weights_file) for name, part in parts.items()})


def load_parts(names, folder: Path, listing: Path, *, role: str, owner: str) -> dict[str, Model]:
    """Load the sub-models saved by :func:`save_parts`; a changed one raises :class:`ModelMismatch`."""
    hashes = json.loads(Path(listing).read_text())
    parts = {}
    for name in names:
        part = load_model(folder / name)
        if hashes.get(name) != _sha256(folder / name / part.metadata["model_file"]):
            raise ModelMismatch(f"{folder / name}: {role} changed since the {owner} was saved")
        parts[name] = part
    return parts


def model_class(name: str) -> type[Model]:
    """The :class:`Model` subclass registered as ``name`` (its module imported on first use)."""
    try:
        module_name, class_name = REGISTRY[name].target.split(":")
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}") from None
    relative = "." not in module_name
    return getattr(importlib.import_module(f".{module_name}" if relative else module_name, __name__), class_name)


def build_model(name: str, labels, recipe: Recipe | None = None, *, seed: int = config.DEFAULT_SEED, **params) -> Model:
    """A new, unfitted model of the family ``name``."""
    return model_class(name)(labels, recipe, seed=seed, **params)


def model_title(name: str) -> str:
    """One-line description of the family ``name`` (imports its module)."""
    return model_class(name).title


def load_model(run_dir: str | Path, *, runtime: str = "auto") -> Model:
    """Load a model saved by :meth:`Model.save`; nothing else is needed to predict.

    ``runtime="auto"`` runs a network from its ONNX copy when ONNX Runtime is installed
    (no TensorFlow import: a fast start); ``"native"`` loads the framework's own file.
    """
    run_dir = Path(run_dir)
    metadata_path = run_dir / "metadata.json"
    if not metadata_path.exists():
        raise FileNotFoundError(_no_metadata(run_dir))
    try:
        metadata = read_json(metadata_path)
        family = _runtime_class(metadata, runtime)
    except (json.JSONDecodeError, KeyError, ValueError) as error:
        raise ValueError(f"{metadata_path}: unreadable model metadata ({error})") from None
    if not (run_dir / family.weights_file).is_file():
        raise FileNotFoundError(f"{run_dir}: metadata.json names {family.weights_file}, which is missing")
    try:
        return family.load(run_dir, metadata)
    except (KeyError, TypeError) as error:
        raise ModelMismatch(f"{metadata_path}: unreadable model metadata ({type(error).__name__}: {error})") from None


def _no_metadata(run_dir: Path) -> str:
    """Why ``run_dir`` holds no saved model: a speaker-norm run (never saved, and why), or not a model folder."""
    if run_dir.name.endswith("-speaker-norm"):
        return (f"{run_dir}: speaker-norm models are not saved: they normalise every feature over many clips of the "
                "speaker being tested, so they cannot answer a new speaker's single clip (and are not strictly speaker "
                f"independent); use {run_dir.name.removesuffix('-norm')} instead")
    return f"{run_dir}: no metadata.json (is this a trained model folder? see `make report`)"


def _runtime_class(metadata: dict, runtime: str) -> type[Model]:
    """The class that loads a saved model: its family's, or the ONNX runner for an exported network."""
    if runtime not in ("auto", "native"):
        raise ValueError(f"unknown runtime {runtime!r}; choose 'auto' or 'native'")
    if runtime == "auto" and "onnx" in metadata.get("exports", {}) and importlib.util.find_spec("onnxruntime"):
        from .onnx_network import OnnxNetwork

        return OnnxNetwork
    return model_class(metadata["model"])
