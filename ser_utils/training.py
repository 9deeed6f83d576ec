"""Evaluation protocols (speaker-independent by default) and training with per-epoch validation.

Protocols:

- ``speaker``: leave-actors-out k-fold, no actor in both train and test, folds
  balanced by gender (``StratifiedGroupKFold`` grouped by actor, stratified by gender);
  validation actors (one female, one male) come out of the training actors.
- ``random``: the seed's random per-clip split (stratified k-fold on the label);
  the same speakers land in train and test, which overstates accuracy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split
from tqdm import tqdm

from . import config
from .evaluation import summarise
from .features import FeatureSet, extract_features, make_recipe
from .models import MODEL_FEATURES, TrainedModel, build_cnn, build_seed_cnn, build_svm, keras, load_model
from .provenance import git_commit, package_versions
from .storage import atomic_path, read_json, write_json

PROTOCOLS = {
    "speaker": "speaker-independent (leave-actors-out, gender-balanced folds)",
    "random": "random per-clip split (same speakers in train and test, as in the seed)",
}


def n_speaker_folds(table: pd.DataFrame, requested: int = 6) -> int:
    """Folds that keep at least one female and one male actor in every test fold."""
    per_gender = table.groupby("gender")["actor"].nunique()
    return max(2, min(requested, int(per_gender.min())))


def make_folds(table: pd.DataFrame, protocol: str = "speaker", *, n_folds: int = 6, seed: int = config.DEFAULT_SEED):
    """Return ``[(train_index, test_index), ...]`` for the protocol.

    >>> folds = make_folds(table, "speaker")  # doctest: +SKIP
    """
    if protocol == "speaker":
        splitter = StratifiedGroupKFold(n_splits=n_speaker_folds(table, n_folds), shuffle=True, random_state=seed)
        return list(splitter.split(table, table["gender"], groups=table["actor"]))
    if protocol == "random":
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(table, table["label"]))
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}")


def validation_split(table: pd.DataFrame, train_index: np.ndarray, protocol: str, *, seed: int):
    """Split training rows into (fit, validation): one female and one male actor, or 15 % of clips.

    Under the speaker protocol with fewer than two training actors of a gender (a
    4-actor corpus), validation falls back to 15 % of the training actors' clips; the
    test actors stay unseen either way.
    """
    train = table.iloc[train_index]
    if protocol == "speaker" and train.groupby("gender")["actor"].nunique().min() >= 2:
        rng = np.random.default_rng(seed)
        held_out = [rng.choice(sorted(train.loc[train["gender"] == g, "actor"].unique())) for g in config.GENDERS]
        is_validation = train["actor"].isin(held_out).to_numpy()
        return train_index[~is_validation], train_index[is_validation]
    fit, validation = train_test_split(train_index, test_size=0.15, stratify=train["label"], random_state=seed)
    return np.sort(fit), np.sort(validation)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclass
class FitResult:
    """A fitted estimator, its per-epoch history (empty for scikit-learn) and fit time."""

    estimator: object
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    epochs_run: int = 0


def fit(model_name: str, features: np.ndarray, labels: np.ndarray, validation: tuple[np.ndarray, np.ndarray],
        *, n_classes: int, epochs: int = 40, batch_size: int = 32, patience: int = 10, seed: int = config.DEFAULT_SEED) -> FitResult:
    """Build and fit ``model_name`` (``seed_cnn``, ``cnn`` or ``svm``).

    Keras models validate after every epoch on the held-out ``validation`` data,
    stop early when validation loss stops improving (best weights restored) and, for
    ``cnn``, halve the learning rate on plateaus. The SVM ignores ``validation``.
    """
    start = time.perf_counter()
    if model_name == "svm":
        estimator = build_svm(seed=seed).fit(features, labels)
        return FitResult(estimator, seconds=time.perf_counter() - start)
    set_seed(seed)
    if model_name == "cnn":
        model = build_cnn(features.shape[1:], n_classes, train_features=features)
    elif model_name == "seed_cnn":
        model = build_seed_cnn(features.shape[1:], n_classes)
    else:
        raise ValueError(f"unknown model {model_name!r}; choose one of {sorted(MODEL_FEATURES)}")
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)]
    if model_name == "cnn":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5))
    history = model.fit(
        features, labels, validation_data=validation, epochs=epochs, batch_size=batch_size,
        callbacks=callbacks, verbose=0, shuffle=True,
    )
    record = {key: [float(v) for v in values] for key, values in history.history.items()}
    return FitResult(model, record, time.perf_counter() - start, len(record["loss"]))


@dataclass
class FoldResult:
    """One fold: which rows were tested, their predicted probabilities, and how training went."""

    fold: int
    test_index: np.ndarray
    probabilities: np.ndarray
    history: dict
    seconds: float
    epochs_run: int
    test_actors: list[int]


@dataclass
class ExperimentResult:
    """A model evaluated under one protocol: every fold's predictions and the first fold's model."""

    model_name: str
    protocol: str
    folds: list[FoldResult]
    model: TrainedModel
    labels: list[str]
    table: pd.DataFrame


def run_experiment(feature_set: FeatureSet, model_name: str, protocol: str = "speaker", *, n_folds: int = 6,
                   max_folds: int | None = None, epochs: int = 40, seed: int = config.DEFAULT_SEED,
                   progress: bool = True) -> ExperimentResult:
    """Train and test ``model_name`` on each fold of ``protocol`` (the first ``max_folds`` only, if given).

    The model of the first fold is kept as the run's model, with its metadata.
    """
    if MODEL_FEATURES[model_name] != feature_set.recipe.kind:
        raise ValueError(f"model {model_name!r} needs {MODEL_FEATURES[model_name]!r} features, "
                         f"got {feature_set.recipe.kind!r}")
    table, features = feature_set.table, feature_set.features
    labels = list(table["label"].cat.categories)
    targets = table["label"].cat.codes.to_numpy()
    folds = make_folds(table, protocol, n_folds=n_folds, seed=seed)[:max_folds]
    results, first_model = [], None
    for number, (train_index, test_index) in enumerate(tqdm(folds, desc=f"{model_name} / {protocol}", disable=not progress)):
        fit_index, val_index = validation_split(table, train_index, protocol, seed=seed + number)
        if model_name == "svm":
            fit_index = train_index
        outcome = fit(model_name, features[fit_index], targets[fit_index], (features[val_index], targets[val_index]),
                      n_classes=len(labels), epochs=epochs, seed=seed + number)
        trained = TrainedModel(model_name, outcome.estimator, labels, feature_set.recipe, {})
        results.append(FoldResult(
            number, test_index, trained.predict_proba(features[test_index]), outcome.history, outcome.seconds,
            outcome.epochs_run, sorted(int(a) for a in table.iloc[test_index]["actor"].unique()),
        ))
        if first_model is None:
            first_model = trained
            first_model.metadata = run_metadata(table, model_name, protocol, train_index, val_index, test_index,
                                                epochs=epochs, seed=seed, fit_seconds=outcome.seconds)
    return ExperimentResult(model_name, protocol, results, first_model, labels, table)


def run_metadata(table, model_name, protocol, train_index, val_index, test_index, *, epochs, seed, fit_seconds) -> dict:
    """Everything a saved model's ``metadata.json`` records besides labels and recipe."""
    def actors(index):
        return sorted(int(a) for a in table.iloc[index]["actor"].unique())

    return {
        "protocol": protocol,
        "protocol_description": PROTOCOLS[protocol],
        "split": {"train_actors": actors(train_index), "validation_actors": actors(val_index),
                  "test_actors": actors(test_index), "n_train": int(len(train_index)), "n_test": int(len(test_index))},
        "epochs_max": epochs,
        "seed": seed,
        "fit_seconds": round(fit_seconds, 2),
        "versions": package_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }


def save_experiment(experiment: ExperimentResult, run_dir, *, dataset: dict, summary: dict) -> Path:
    """Write the run's model and metadata, plus every fold's test predictions and training history.

    ``run_dir`` gets ``model.keras``/``model.joblib``, ``metadata.json`` (with the
    dataset and the cross-fold ``summary``), ``predictions.npz`` and ``folds.json``.
    """
    run_dir = Path(run_dir)
    experiment.model.metadata |= {"dataset": dataset, "metrics": summary}
    experiment.model.save(run_dir)
    with atomic_path(run_dir / "predictions.npz") as tmp:
        np.savez(tmp, **{f"fold{f.fold}_index": f.test_index for f in experiment.folds},
                 **{f"fold{f.fold}_probabilities": f.probabilities for f in experiment.folds})
    folds = [{"fold": f.fold, "history": f.history, "seconds": f.seconds, "epochs_run": f.epochs_run,
              "test_actors": f.test_actors} for f in experiment.folds]
    write_json(run_dir / "folds.json", {"model": experiment.model_name, "protocol": experiment.protocol,
                                        "labels": experiment.labels, "folds": folds})
    return run_dir


def load_experiment(run_dir, table: pd.DataFrame) -> ExperimentResult:
    """Read back what :func:`save_experiment` wrote, against the same labels ``table``."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "folds.json")
    with np.load(run_dir / "predictions.npz") as arrays:
        folds = [FoldResult(f["fold"], arrays[f"fold{f['fold']}_index"], arrays[f"fold{f['fold']}_probabilities"],
                            f["history"], f["seconds"], f["epochs_run"], f["test_actors"]) for f in record["folds"]]
    if list(table["label"].cat.categories) != record["labels"]:
        raise ValueError(f"{run_dir}: trained on labels {record['labels']}, the table has "
                         f"{list(table['label'].cat.categories)}")
    return ExperimentResult(record["model"], record["protocol"], folds, load_model(run_dir), record["labels"], table)


def fold_table(table: pd.DataFrame, folds) -> pd.DataFrame:
    """Test actors of each fold with their genders, and the clip counts (to show there is no overlap)."""
    rows = []
    for number, (train_index, test_index) in enumerate(folds):
        test = table.iloc[test_index]
        overlap = set(test["actor"]) & set(table.iloc[train_index]["actor"])
        rows.append({
            "fold": number,
            "test actors": ", ".join(f"{a:02d}{'M' if a % 2 else 'F'}" for a in sorted(test["actor"].unique())),
            "train clips": len(train_index), "test clips": len(test_index), "actors in both": len(overlap),
        })
    return pd.DataFrame(rows).set_index("fold")


def train_and_save(table: pd.DataFrame, *, dataset: dict, model_names, protocols, n_folds: int, max_folds: dict,
                   epochs: dict, seed: int, progress: bool = True) -> dict[tuple[str, str], ExperimentResult]:
    """Run every model under every protocol and save each run to ``models/<dataset>/<model>-<protocol>``."""
    experiments = {}
    for model_name in model_names:
        feature_set = extract_features(table, make_recipe(MODEL_FEATURES[model_name]), progress=progress)
        if feature_set.failed:
            print(f"skipped {len(feature_set.failed)} unusable file(s):", *feature_set.failed, sep="\n  ")
        for protocol in protocols:
            experiment = run_experiment(feature_set, model_name, protocol, n_folds=n_folds,
                                        max_folds=max_folds.get(model_name), epochs=epochs.get(model_name, 40),
                                        seed=seed, progress=progress)
            save_experiment(experiment, config.run_dir(dataset["name"], model_name, protocol), dataset=dataset,
                            summary=summarise(experiment))
            experiments[model_name, protocol] = experiment
    return experiments


def training_summary(experiments: dict) -> pd.DataFrame:
    """Per run: folds trained, epochs run per fold, and training seconds (total and per fold)."""
    rows = [{"model": m, "protocol": p, "folds": len(e.folds), "epochs run": ", ".join(str(f.epochs_run) for f in e.folds),
             "train s (total)": round(sum(f.seconds for f in e.folds), 1),
             "train s per fold": round(float(np.mean([f.seconds for f in e.folds])), 1)}
            for (m, p), e in experiments.items()]
    return pd.DataFrame(rows).set_index(["model", "protocol"])
