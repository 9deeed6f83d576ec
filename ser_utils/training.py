"""Cross-validated training: fit a model family on each fold of a protocol and keep every test prediction.

Folds and validation come from :mod:`ser_utils.protocols`, model families from
:mod:`ser_utils.models`, and each run is stored by :mod:`ser_utils.runs`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pandas as pd
from tqdm import tqdm

from . import config
from .features import FeatureSet, extract_features
from .models import build_model, model_class
from .protocols import PROTOCOLS, make_folds, validation_split
from .provenance import git_commit, package_versions
from .runs import Run, predictions_table, save_run


def cross_validate(feature_set: FeatureSet, model_name: str, protocol: str = "speaker", *, n_folds: int = 6,
                   max_folds: int | None = None, params: dict | None = None, seed: int = config.DEFAULT_SEED,
                   progress: bool = True) -> Run:
    """Train and test ``model_name`` on each fold of ``protocol`` (the first ``max_folds`` only, if given).

    Networks validate on held-out training data (:func:`validation_split`); families
    that do not stop early fit on all training rows. The predictions table carries each
    tested clip's path, actor, gender, fold and true label beside its probabilities.
    The model of the first fold is kept as the run's model, with its metadata.
    """
    family = model_class(model_name)
    if family.default_recipe().kind != feature_set.recipe.kind:
        raise ValueError(f"model {model_name!r} needs {family.default_recipe().kind!r} features, "
                         f"got {feature_set.recipe.kind!r}")
    table, features = feature_set.table, feature_set.features
    labels = list(table["label"].cat.categories)
    targets = table["label"].cat.codes.to_numpy()
    folds = make_folds(table, protocol, n_folds=n_folds, seed=seed)[:max_folds]
    tables, records, first_model = [], [], None
    for number, (train_index, test_index) in enumerate(tqdm(folds, desc=f"{model_name} / {protocol}",
                                                            disable=not progress)):
        fit_index, val_index = validation_split(table, train_index, protocol, seed=seed + number)
        model = build_model(model_name, labels, feature_set.recipe, seed=seed + number, **(params or {}))
        if not family.uses_validation:
            fit_index = train_index
        start = time.perf_counter()
        model.fit(features[fit_index], targets[fit_index],
                  (features[val_index], targets[val_index]) if family.uses_validation else None)
        seconds = time.perf_counter() - start
        tables.append(predictions_table(table.iloc[test_index], number, model.predict_proba(features[test_index]), labels))
        records.append({"fold": number, "test_actors": _actors(table, test_index), "history": model.history,
                        "epochs_run": model.epochs_run, "seconds": round(seconds, 2)})
        if first_model is None:
            first_model = model
            first_model.metadata = run_metadata(table, protocol, train_index, val_index, test_index, seed=seed,
                                                fit_seconds=seconds)
    return Run(model_name, protocol, labels, pd.concat(tables, ignore_index=True), records, first_model)


def _actors(table: pd.DataFrame, index) -> list[int]:
    """Sorted actor numbers of the rows at ``index``."""
    return sorted(int(a) for a in table.iloc[index]["actor"].unique())


def run_metadata(table, protocol, train_index, val_index, test_index, *, seed, fit_seconds) -> dict:
    """What a saved model's ``metadata.json`` records besides the model's own settings."""
    return {
        "protocol": protocol,
        "protocol_description": PROTOCOLS[protocol],
        "split": {"train_actors": _actors(table, train_index), "validation_actors": _actors(table, val_index),
                  "test_actors": _actors(table, test_index), "n_train": int(len(train_index)),
                  "n_test": int(len(test_index))},
        "run_seed": seed,
        "fit_seconds": round(fit_seconds, 2),
        "versions": package_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }


def train_and_save(table: pd.DataFrame, *, dataset: dict, model_names, protocols, n_folds: int, max_folds: dict,
                   params: dict, seed: int, progress: bool = True) -> dict[tuple[str, str], Run]:
    """Run every model under every protocol and save each run to ``models/<dataset>/<model>-<protocol>``.

    ``max_folds`` and ``params`` map a model name to its fold limit and its parameters.
    """
    runs = {}
    for model_name in model_names:
        feature_set = extract_features(table, model_class(model_name).default_recipe(), progress=progress)
        if feature_set.failed:
            print(f"skipped {len(feature_set.failed)} unusable file(s):", *feature_set.failed, sep="\n  ")
        for protocol in protocols:
            run = cross_validate(feature_set, model_name, protocol, n_folds=n_folds,
                                 max_folds=max_folds.get(model_name), params=params.get(model_name), seed=seed,
                                 progress=progress)
            run.dataset = dataset
            run.model.metadata["dataset"] = dataset
            save_run(run, config.run_dir(dataset["name"], model_name, protocol))
            runs[model_name, protocol] = run
    return runs


def training_summary(runs: dict[tuple[str, str], Run]) -> pd.DataFrame:
    """Per run: folds trained, epochs run per fold, and training seconds (total and per fold)."""
    rows = []
    for (model_name, protocol), run in runs.items():
        seconds = [fold["seconds"] for fold in run.folds]
        rows.append({"model": model_name, "protocol": protocol, "folds": len(run.folds),
                     "epochs run": ", ".join(str(fold["epochs_run"]) for fold in run.folds),
                     "train s (total)": round(sum(seconds), 1), "train s per fold": round(sum(seconds) / len(seconds), 1)})
    return pd.DataFrame(rows).set_index(["model", "protocol"])
