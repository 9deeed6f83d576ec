"""Loading a saved model folder (and the sub-models of composite models): nothing else is needed to predict."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from ..storage import read_json, write_json
from .base import Model
from .fingerprint import ModelMismatch, sha256
from .registry import model_class


def save_parts(parts: dict[str, Model], folder: Path, listing: Path) -> None:
    """Save each sub-model of a composite model into ``folder/<name>`` and their weights' hashes into ``listing``
    (``NotImplementedError`` before anything is written if one predicts only: loaded from its ONNX copy)."""
    from .onnx_model import OnnxModel

    predict_only = [name for name, part in parts.items() if isinstance(part, OnnxModel)]
    if predict_only:
        raise NotImplementedError(f"{', '.join(predict_only)}: loaded from ONNX, they predict only; load them with "
                                  "load_model(..., runtime='native') to save them in a composite model")
    for name, part in parts.items():
        part.save(folder / name)
    write_json(listing, {name: sha256(folder / name / part.weights_file) for name, part in parts.items()})


def load_parts(names, folder: Path, listing: Path, *, role: str, owner: str, runtime: str) -> dict[str, Model]:
    """Load the sub-models saved by :func:`save_parts` (``runtime`` as :func:`load_model`'s); a changed one raises
    :class:`ModelMismatch`."""
    hashes = json.loads(Path(listing).read_text())
    parts = {}
    for name in names:
        _refuse_unless_plain(name, f"{role} name", listing.parent / "metadata.json", folder)
        part = load_model(folder / name, runtime=runtime)
        _refuse_unless_plain(part.metadata["model_file"], "weights file", folder / name / "metadata.json", folder / name)
        if hashes.get(name) != sha256(folder / name / part.metadata["model_file"]):
            raise ModelMismatch(f"{folder / name}: {role} changed since the {owner} was saved")
        parts[name] = part
    return parts


def _refuse_unless_plain(name, what: str, metadata_path: Path, folder: Path) -> None:
    """Raise :class:`ModelMismatch` unless ``name`` (read from ``metadata_path``) is a plain file or folder name: a
    path in a shared folder's metadata could lead outside ``folder``, or to a device that never ends."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.]*", name):
        raise ModelMismatch(f"{metadata_path}: refused: {what} {name!r} is not a plain name, so it could lead "
                            f"outside {folder}")


def load_model(run_dir: str | Path, *, runtime: str = "auto") -> Model:
    """Load a model saved by :meth:`Model.save`; nothing else is needed to predict.

    ``runtime="auto"`` runs a model from its ONNX copy when ONNX Runtime is installed (no TensorFlow, scikit-learn or
    skops import: a fast start); ``"native"`` loads the framework's own file.
    """
    run_dir = Path(run_dir)
    metadata_path = run_dir / "metadata.json"
    if not metadata_path.exists():
        raise FileNotFoundError(_no_metadata(run_dir))
    try:
        metadata = read_json(metadata_path)
        if not isinstance(metadata, dict):
            raise TypeError(f"it holds a JSON {type(metadata).__name__}, not an object")
        family = _runtime_class(metadata, runtime)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{metadata_path}: unreadable model metadata ({error})") from None
    _refuse_pickles(run_dir, metadata)
    if not (run_dir / family.weights_file).is_file():
        raise FileNotFoundError(f"{run_dir}: metadata.json names {family.weights_file}, which is missing")
    try:
        return family.load(run_dir, metadata, runtime=runtime)
    except (KeyError, TypeError) as error:
        raise ModelMismatch(f"{metadata_path}: unreadable model metadata ({type(error).__name__}: {error})") from None


#: Weights files of the old format: pickles, which run whatever code they name when they are loaded.
PICKLED_WEIGHTS = ("model.joblib",)


def _refuse_pickles(run_dir: Path, metadata: dict) -> None:
    """Raise :class:`ModelMismatch` for a folder whose metadata names a weights file of the old format: nothing of a
    pickle is ever loaded (one left beside newer weights by an earlier run is never read)."""
    if metadata.get("model_file") in PICKLED_WEIGHTS:
        raise ModelMismatch(f"{run_dir}: refused: saved in an old format ({metadata['model_file']}, a pickle), and "
                            "loading a pickle can run any code its author put in it; retrain the model (`make report`) "
                            "to save it in this version's format (skops for scikit-learn models), which loads data only")


def _no_metadata(run_dir: Path) -> str:
    """Why ``run_dir`` holds no saved model: a speaker-norm run (never saved, and why), or not a model folder."""
    if run_dir.name.endswith("-speaker-norm"):
        return (f"{run_dir}: speaker-norm models are not saved: they normalise every feature over many clips of the "
                "speaker being tested, so they cannot answer a new speaker's single clip (and are not strictly speaker "
                f"independent); use {run_dir.name.removesuffix('-norm')} instead")
    return f"{run_dir}: no metadata.json (is this a trained model folder? see `make report`)"


def _runtime_class(metadata: dict, runtime: str) -> type[Model]:
    """The class that loads a saved model: its family's, or the ONNX runner for a model exported to ONNX."""
    if runtime not in ("auto", "native"):
        raise ValueError(f"unknown runtime {runtime!r}; choose 'auto' or 'native'")
    exports = metadata.get("exports") or {}
    if not isinstance(exports, dict):
        raise ValueError(f"exports is {type(exports).__name__}, not a mapping")
    if runtime == "auto" and "onnx" in exports and importlib.util.find_spec("onnxruntime"):
        from .onnx_model import OnnxModel

        return OnnxModel
    return model_class(metadata["model"])
