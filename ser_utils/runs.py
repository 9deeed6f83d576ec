"""Run storage: what a trained run leaves in ``models/<dataset>/<model>-<protocol>/`` and how it is read back.

A run folder holds

- the delivered model, fitted on every actor once the folds measured it (``model.keras`` or
  ``model.skops``, its ONNX copy ``model.onnx``, and ``metadata.json``): what ``ser predict`` and notebook 05 use;
- ``fold-0/``: the first fold's model, which never heard that fold's test actors (for figures about
  unseen actors);
- ``predictions.csv``: one row per tested clip with its identity (path, actor, gender,
  fold, true label) and one probability column per class (``p_<class>``);
- ``run.json``: model, protocol, labels, corpus, and per fold the test actors, training
  history, epochs and seconds.

Evaluation reads ``predictions.csv`` and ``run.json`` only: no framework is imported,
and a clip skipped at extraction can never shift a row.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import config
from .storage import atomic_path, read_json, write_json

IDENTITY_COLUMNS = ["path", "actor", "gender", "fold", "label"]
#: Sub-folder of a run folder holding the first fold's model.
FOLD_MODEL_DIR = "fold-0"
PREDICTIONS_FILE = "predictions.csv"
RUN_FILE = "run.json"
#: Beside a dataset's run folders: the key of the training that wrote them all (:func:`training_key`).
TRAINING_RECORD = "training.json"


def probability_column(label: str) -> str:
    """Name of the predictions-table column holding the probability of class ``label``."""
    return f"p_{label}"


@dataclass
class Run:
    """One model under one protocol: every fold's test predictions, fold records, the delivered model (fitted on every
    actor) and the first fold's model."""

    model_name: str
    protocol: str
    labels: list[str]
    predictions: pd.DataFrame
    folds: list[dict]
    model: object = None
    dataset: dict = field(default_factory=dict)
    #: each fold's predictions of its validation actors (in memory only: they calibrate the ensemble)
    validation: pd.DataFrame | None = None
    #: each fold's predictions of its test clips under each corruption of the robustness study
    #: (columns ``condition`` and ``level`` beside those of :attr:`predictions`; in memory only)
    robustness: pd.DataFrame | None = None
    #: the first fold's model: its metadata names the test actors it never heard
    fold_model: object = None

    def record(self) -> dict:
        """The JSON-able description written to ``run.json``."""
        return {"model": self.model_name, "protocol": self.protocol, "labels": self.labels, "dataset": self.dataset,
                "folds": self.folds}


def predictions_table(clips: pd.DataFrame, fold: int, probabilities: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Identity columns of the tested ``clips`` (a slice of a labels table) beside their probabilities."""
    if len(clips) != len(probabilities):
        raise ValueError(f"{len(clips)} clips but {len(probabilities)} rows of probabilities")
    identity = clips[["path", "actor", "gender", "label"]].astype({"label": str}).reset_index(drop=True)
    identity.insert(3, "fold", fold)
    scores = pd.DataFrame(probabilities, columns=[probability_column(label) for label in labels])
    return pd.concat([identity, scores], axis=1)


def study_table(table: pd.DataFrame, studied: list, fold: int, probabilities: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """A predictions table of corrupted clips: ``studied`` is (condition, level, corruption) per row of ``probabilities``,
    each corruption's clip a row of ``table``; columns ``condition`` and ``level`` follow the identity columns."""
    clips = table.set_index("path").loc[[corruption.path for *_, corruption in studied]].reset_index()
    frame = predictions_table(clips, fold, probabilities, labels)
    frame.insert(4, "condition", [condition for condition, *_ in studied])
    frame.insert(5, "level", [float(level) for _, level, _ in studied])
    return frame


def save_run(run: Run, run_dir: str | Path) -> Path:
    """Write the run's models (the delivered one, and the first fold's in ``fold-0/``), ``predictions.csv`` and
    ``run.json`` into ``run_dir`` (each atomically)."""
    run_dir = Path(run_dir)
    if run.model is not None:
        run.model.save(run_dir)
    if run.fold_model is not None:
        run.fold_model.save(run_dir / FOLD_MODEL_DIR)
    with atomic_path(run_dir / PREDICTIONS_FILE) as tmp:
        run.predictions.to_csv(tmp, index=False)
    write_json(run_dir / RUN_FILE, run.record())
    return run_dir


def load_run(run_dir: str | Path, *, labels: list[str] | None = None) -> Run:
    """Read the predictions and records of a run (not its model: see :func:`ser_utils.models.load_model`).

    ``labels``, when given, must equal the run's class order (the current label scheme's).
    """
    run_dir = Path(run_dir)
    for name in (RUN_FILE, PREDICTIONS_FILE):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir}: no {name}; run notebook 03 (or `make report`) to train it")
    record = read_json(run_dir / RUN_FILE)
    if labels is not None and list(labels) != record["labels"]:
        raise ValueError(f"{run_dir}: trained on labels {record['labels']}, the current label scheme has {list(labels)};"
                         " re-run notebook 03")
    predictions = pd.read_csv(run_dir / PREDICTIONS_FILE)
    missing = [c for c in IDENTITY_COLUMNS + [probability_column(l) for l in record["labels"]] if c not in predictions]
    if missing:
        raise ValueError(f"{run_dir / PREDICTIONS_FILE}: missing column(s) {missing}")
    return Run(record["model"], record["protocol"], record["labels"], predictions, record["folds"],
               dataset=record.get("dataset", {}))


def run_dirs(dataset: str) -> list[Path]:
    """Every run folder saved for ``dataset`` (those with a ``run.json``), sorted."""
    return sorted(path.parent for path in (config.MODELS_DIR / dataset).glob(f"*/{RUN_FILE}"))


#: The package whose source keys a training (all of it: a model's code is reached through the registry by name,
#: which a finer fingerprint would miss).
PACKAGE_DIR = Path(__file__).parent


def installed_versions() -> dict[str, str]:
    """Every installed distribution and its version (a feature extractor or a codec upgraded changes models)."""
    from importlib import metadata

    return {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions() if dist.metadata["Name"]}


def training_key(table: pd.DataFrame, settings: dict) -> str:
    """A hash of everything a training depends on: the whole package's source, the versions of every installed
    package, the clips (path, label, actor, size and modification time) and ``settings`` (plan, folds, parameters,
    seed, corrupted copies)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + path.read_bytes())
    clips = [[str(row.path), str(row.label), int(row.actor), os.stat(row.path).st_size, os.stat(row.path).st_mtime_ns]
             for row in table[["path", "label", "actor"]].itertuples(index=False)]
    settings = {name: asdict(value) if hasattr(value, "__dataclass_fields__") else value
                for name, value in settings.items()}
    digest.update(json.dumps({"versions": installed_versions(), "clips": clips, "settings": settings},
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def training_record_path(dataset: str) -> Path:
    """Where the key of ``dataset``'s last complete training is kept."""
    return config.MODELS_DIR / dataset / TRAINING_RECORD


def forget_training(dataset: str) -> None:
    """Remove the record of ``dataset``'s last training (before a new one: an interrupted training must not look
    complete)."""
    training_record_path(dataset).unlink(missing_ok=True)


def remember_training(dataset: str, key: str, runs: dict) -> None:
    """Record that the runs of ``runs`` ({(model, protocol): Run}) were all saved by the training of ``key``, and which
    of them saved a delivered and a first-fold model (speaker-norm runs save none)."""
    saved = [[name, protocol, run.model is not None, run.fold_model is not None]
             for (name, protocol), run in runs.items()]
    write_json(training_record_path(dataset), {"key": key, "trained": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "runs": saved})


def reusable_runs(dataset: str, key: str) -> tuple[dict, str] | None:
    """The runs of ``dataset``'s last training, with their models, and when it ran, if it had the same ``key``
    (same code, package versions, clips and settings) and every run still reads back whole; else None (train)."""
    from .models import load_model

    path = training_record_path(dataset)
    try:
        record = read_json(path)
        if record["key"] != key:
            return None
        runs = {}
        for name, protocol, delivered, first_fold in record["runs"]:
            folder = config.run_dir(dataset, name, protocol)
            run = load_run(folder)
            run.model = load_model(folder) if delivered else None
            run.fold_model = load_model(folder / FOLD_MODEL_DIR) if first_fold else None
            runs[name, protocol] = run
        return runs, record["trained"]
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: train again
        return None
