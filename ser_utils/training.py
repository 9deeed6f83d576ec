"""Cross-validated training: fit a model family on each fold of a protocol and keep every test prediction.

Folds and validation come from :mod:`ser_utils.protocols`, model families from
:mod:`ser_utils.models`, and each run is stored by :mod:`ser_utils.runs`. The
ensemble's run is built from its members' runs (:func:`combine_runs`): each fold's
averaged probabilities are exactly what the ensemble of that fold's members predicts.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import config
from .augment import Augmentation
from .calibration import fit_temperature, with_temperature
from .features import FeatureSet, corrupted_features, corrupted_key, extract_features
from .models import REGISTRY, ModelMismatch, build_model, model_class
from .engine import parallel_map
from .folds import FoldPlan, plan_folds
from .protocols import PROTOCOLS, normalise_per_speaker
from .provenance import git_commit, package_versions
from .runs import (Run, forget_training, predictions_table, probability_column, remember_training, reusable_runs,
                   run_dirs, save_run, study_table, training_key)

def _families(models: list[str] | None) -> dict:
    """The registered families named in ``models`` (all if None), in registry order; an unknown name raises."""
    unknown = sorted(set(models or ()) - set(REGISTRY))
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose among {list(REGISTRY)}")
    return {name: family for name, family in REGISTRY.items() if models is None or name in models}


def accuracy_plan(models: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """What ``make accuracy`` trains: every registered family (or those named in ``models``) under every protocol
    its :class:`~ser_utils.models.Family` lists."""
    return {name: family.protocols for name, family in _families(models).items()}


def report_plan(split: str = "speaker", models: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """What ``make report`` trains: every registered family (or those named in ``models``) under the protocols its
    :class:`~ser_utils.models.Family` lists for the report (fewer for costly ones), and also under ``split``, the
    protocol of the model notebook 05 uses (``make report SPLIT=random``), so that whichever model 05 shows exists."""
    return {name: tuple(dict.fromkeys((*family.report, split))) for name, family in _families(models).items()}


def cross_validate(feature_set: FeatureSet, model_name: str, protocol: str = "speaker", *, n_folds: int = 6,
                   max_folds: int | None = None, params: dict | None = None, seed: int = config.DEFAULT_SEED,
                   augmentation: Augmentation | None = None, study: tuple[str, ...] = (), corrupted: dict | None = None,
                   deliver: bool = True, plan: FoldPlan | None = None, progress: bool = True, n_jobs: int = -1) -> Run:
    """Train and test ``model_name`` on each fold of ``protocol`` (the first ``max_folds`` only, if given).

    Each fold holds out validation actors from its training actors (:func:`~ser_utils.protocols.validation_split`).
    Networks stop early on them; other families fit on all training rows, and a second fit
    without them predicts them. Those validation predictions calibrate families that
    :attr:`~ser_utils.models.Model.calibrate` (the fold's temperature, :mod:`ser_utils.calibration`)
    and the ensemble built from the members' runs, never touching test speakers. The predictions table carries each tested clip's path, actor,
    gender, fold and true label beside its probabilities. The model of the first fold is kept as
    the run's :attr:`~ser_utils.runs.Run.fold_model` (figures about actors it never heard need it).
    Once the folds have measured the method, and if ``deliver``, the model a user gets is fitted on
    every clip (:func:`deliver_models`) and kept as the run's :attr:`~ser_utils.runs.Run.model`. Under
    ``speaker-norm`` no model is kept (it cannot predict a new speaker's single clip).

    With an ``augmentation``, families that :attr:`~ser_utils.models.Model.augments` also train on
    corrupted copies of their training clips (:mod:`ser_utils.augment`; not under ``speaker-norm``,
    whose per-speaker statistics a copy would change); validation and test clips stay clean. With
    ``study`` (speaker protocol), each fold's model also predicts its test clips under every
    condition of the robustness study named in ``study`` (:data:`~ser_utils.augment.STUDY_CONDITIONS`;
    :attr:`~ser_utils.runs.Run.robustness`). ``corrupted`` holds
    features of corrupted clips extracted beforehand (:func:`~ser_utils.features.corrupted_features`).
    The folds, validation actors and copies come from ``plan`` (made with the same ``augmentation``
    and ``study``: :func:`~ser_utils.folds.plan_folds`), made here if not given. The folds are fitted side by side,
    ``n_jobs`` at a time (all cores: -1), or on a Dask cluster's workers (:mod:`ser_utils.engine`).
    """
    run, delivery = _cross_validate(feature_set, model_name, protocol, n_folds=n_folds, max_folds=max_folds,
                                    params=params, seed=seed, augmentation=augmentation, study=study,
                                    corrupted=corrupted, deliver=deliver, plan=plan, progress=progress, n_jobs=n_jobs)
    if delivery is not None:
        run.model = deliver_models([delivery], n_jobs=1)[0]
    return run


def _cross_validate(feature_set: FeatureSet, model_name: str, protocol: str, *, n_folds: int, max_folds: int | None,
                    params: dict | None, seed: int, augmentation: Augmentation | None, study: tuple[str, ...],
                    corrupted: dict | None, deliver: bool, plan: FoldPlan | None, progress: bool,
                    n_jobs: int) -> tuple[Run, Delivery | None]:
    """:func:`cross_validate`'s folds: the run without its delivered model, and what fitting that model needs
    (:class:`Delivery`; None when nothing is delivered), so that :func:`train_all` fits every run's delivered model
    side by side."""
    family = model_class(model_name)
    if family.default_recipe().kind != feature_set.recipe.kind:
        raise ValueError(f"model {model_name!r} needs {family.default_recipe().kind!r} features, "
                         f"got {feature_set.recipe.kind!r}")
    table, features = feature_set.table, feature_set.features
    if protocol == "speaker-norm":
        features = normalise_per_speaker(features, table["actor"])
    labels = list(table["label"].cat.categories)
    targets = table["label"].cat.codes.to_numpy()
    plan = plan or plan_folds(table, protocol, n_folds=n_folds, seed=seed, augmentation=augmentation, study=study,
                              deliver=deliver)
    if plan.protocol != protocol or max(len(fold.train) + len(fold.test) for fold in plan.folds) != len(table):
        raise ValueError(f"the fold plan is for {plan.protocol} over another table; {model_name} runs {protocol}")
    augmentation = augmentation if family.augments and protocol != "speaker-norm" else None
    folds = plan.folds[:max_folds]
    delivering = deliver and protocol != "speaker-norm"
    delivery_copies = plan.delivery_copies if augmentation and delivering else ()
    wanted = (plan.training_copies() if augmentation else []) + plan.studied_copies()
    if wanted:
        corrupted = _recipe_bank(feature_set.recipe, wanted, corrupted, progress)
    tables, validations, calibration, studies, records, first_model = [], [], [], [], [], None
    work = (_fold_work(build_model(model_name, labels, feature_set.recipe, seed=seed + fold.number, **(params or {})),
                       fold, features, targets, table, augmentation, corrupted) for fold in folds)  # built as dispatched
    with contextlib.closing(parallel_map(_fit_fold, work, n_jobs=n_jobs)) as fitted:  # an error stops the rest
        for fold, (model, validation, fit_seconds) in tqdm(zip(folds, fitted), total=len(folds),
                                                           desc=f"{model_name} / {protocol}",
                                                           disable=not config.show_progress(progress)):
            number, train_index, val_index, test_index = fold.number, fold.train, fold.validation, fold.test
            calibration.append((validation, targets[val_index]))
            if family.calibrate:
                model.temperature = fit_temperature(validation, targets[val_index])
            start = time.perf_counter()
            probabilities = model.predict_proba(features[test_index])
            predict_seconds = time.perf_counter() - start
            tables.append(predictions_table(table.iloc[test_index], number, probabilities, labels))
            validations.append(predictions_table(table.iloc[val_index], number,
                                                 with_temperature(validation, model.temperature), labels))
            if fold.studied:
                studies.append(study_predictions(model, table, fold.studied, corrupted, number))
            copies = fold.fit_copies if family.uses_validation else fold.refit_copies
            records.append({"fold": number, "test_actors": _actors(table, test_index), "history": model.history,
                            "epochs_run": model.epochs_run, "temperature": model.temperature,
                            "corrupted_copies": len(copies) if augmentation else 0,
                            "seconds": round(fit_seconds, 2), "predict_seconds": round(predict_seconds, 3)})
            if first_model is None and protocol != "speaker-norm":
                first_model = model
                first_model.metadata = run_metadata(table, protocol, train_index, val_index, test_index, seed=seed,
                                                    fit_seconds=fit_seconds, augmentation=augmentation)
    run = Run(model_name, protocol, labels, pd.concat(tables, ignore_index=True), records, fold_model=first_model,
              validation=pd.concat(validations, ignore_index=True),
              robustness=pd.concat(studies, ignore_index=True) if studies else None)
    delivery = delivery_of(feature_set, first_model, records, calibration, protocol=protocol, seed=seed,
                           augmentation=augmentation, copies=delivery_copies, corrupted=corrupted) if delivering else None
    return run, delivery


def delivered_schedule(histories: list[dict], *, warmup_epochs: int) -> dict:
    """Training settings of the delivered model that the folds chose: for networks, the median of the epochs whose
    weights early stopping kept (the lowest validation loss after the first ``warmup_epochs``; the last epoch of a fold
    that never left them), at the per-epoch learning rates (Keras logs the rate each epoch trained at) of the fold
    that stopped nearest that median among those that ran that long; a constant rate if no fold logged its rates.
    Nothing for families that do not train by epochs."""
    validated = [history for history in histories if history.get("val_loss")]
    if not validated:
        return {}
    stopped = [kept_epoch(history["val_loss"], warmup_epochs) for history in validated]
    epochs = int(np.median(stopped))
    long_enough = [(abs(best - epochs), number) for number, (best, history) in enumerate(zip(stopped, validated))
                   if len(history.get("learning_rate", [])) >= epochs]
    rates = validated[min(long_enough)[1]]["learning_rate"][:epochs] if long_enough else None
    return {"epochs": epochs, "learning_rates": rates}


def kept_epoch(validation_losses: list[float], warmup_epochs: int) -> int:
    """The epoch (from 1) whose weights Keras's early stopping kept (no ``min_delta``, no ``baseline``): the first
    epoch after the warm-up whose validation loss no later one beat (a NaN never beats), or the last epoch if training
    ended within the warm-up (nothing was restored)."""
    kept = len(validation_losses)
    for epoch in range(warmup_epochs, len(validation_losses)):
        if epoch == warmup_epochs or validation_losses[epoch] < validation_losses[kept - 1]:
            kept = epoch + 1
    return kept


@dataclass
class Delivery:
    """What fitting a run's delivered model needs: the unfitted ``model`` (the family and settings of its folds, trained
    as :func:`delivered_schedule` says), ``rows()`` giving every clip's features and targets with their corrupted
    copies (assembled only when its fit is dispatched, so that every run's arrays are never in memory at once), every
    fold's validation (probabilities before temperature, targets) to calibrate it, and its metadata but the fit time."""

    model: object
    rows: Callable[[], tuple[np.ndarray, np.ndarray]]
    calibration: list
    metadata: dict


def delivery_of(feature_set: FeatureSet, fold_model, records: list[dict], calibration: list, *, protocol: str,
                seed: int, augmentation: Augmentation | None, copies: list, corrupted: dict | None) -> Delivery:
    """The :class:`Delivery` of the model a user gets: the family fitted on every clip of every actor, after the
    folds measured it. ``fold_model`` is the first fold's model (its family and settings), ``records`` the folds'
    records, ``calibration`` every fold's (validation probabilities before temperature, targets). Its metadata says
    what it heard (every actor) and which folds estimate it."""
    table, features = feature_set.table, feature_set.features
    targets = table["label"].cat.codes.to_numpy()
    everything = np.arange(len(table))
    schedule = delivered_schedule([record["history"] for record in records],
                                  warmup_epochs=fold_model.params.get("warmup_epochs", 0))
    model = build_model(fold_model.name, fold_model.labels, feature_set.recipe, seed=seed,
                        **(fold_model.params | schedule))
    metadata = run_metadata(table, protocol, everything, [], [], seed=seed, fit_seconds=0.0,
                            augmentation=augmentation) | delivery_record(records, protocol, {
        "epochs": schedule.get("epochs"), "learning_rates_replayed": bool(schedule.get("learning_rates")),
        "temperature": POOLED_TEMPERATURE if model.calibrate else "none (not calibrated)"})
    rows = functools.partial(with_copies, features, targets, table, everything, copies, corrupted)
    return Delivery(model, rows, calibration, metadata)


def deliver_models(deliveries: list[Delivery], *, n_jobs: int = -1) -> list:
    """The delivered models, fitted side by side (``n_jobs`` at a time, or on a Dask cluster: :mod:`ser_utils.engine`),
    those trained for the most epochs first (the networks: the longest fits); a family that calibrates gets one
    temperature fitted on every fold's validation predictions pooled."""
    if not deliveries:
        return []
    order = sorted(range(len(deliveries)), key=lambda i: -deliveries[i].model.params.get("epochs", 0))
    work = ((deliveries[i].model, deliveries[i].rows()) for i in order)  # assembled as dispatched
    fitted = dict(zip(order, parallel_map(_fit_delivery, work, n_jobs=n_jobs)))
    models = []
    for i, delivery in enumerate(deliveries):
        model, seconds = fitted[i]
        if model.calibrate:
            model.temperature = fit_temperature(np.concatenate([p for p, _ in delivery.calibration]),
                                                np.concatenate([t for _, t in delivery.calibration]))
        model.metadata = delivery.metadata | {"fit_seconds": round(seconds, 2)}
        models.append(model)
    return models


def _fit_delivery(work: tuple) -> tuple:
    """One delivered model fitted where the engine runs it: ``(model, (features, targets))`` -> (the model, seconds)."""
    model, rows = work
    start = time.perf_counter()
    model.fit(*rows)
    return model, time.perf_counter() - start


#: How a delivered model's temperature is fitted, as its metadata says.
POOLED_TEMPERATURE = "fitted on every fold's validation predictions, pooled"
#: What a delivered model's metadata says of its own training (an ensemble lists them per member).
TRAINING_KEYS = ("epochs", "learning_rates_replayed", "temperature")


def delivery_record(records: list[dict], protocol: str, training: dict) -> dict:
    """What a delivered model's metadata says of itself: it heard every actor, the folds (their ``records``)
    estimate its accuracy, and how it was trained (``training``: epochs, temperature, members...)."""
    return {"delivered": {
        "trained_on": "every clip of every actor of the corpus (no test actor: it has heard every voice in it)",
        "estimated_by": f"the {len(records)} folds of the {protocol} protocol (each fold's model tested on clips it "
                        "never heard): see predictions.csv and metrics.json",
        "fold_test_actors": [record["test_actors"] for record in records],
    } | training}


def _recipe_bank(recipe, wanted: list, corrupted: dict | None, progress: bool) -> dict:
    """Features for ``recipe`` of the ``wanted`` corrupted clips: those in ``corrupted`` (extracted beforehand), the
    others extracted now."""
    bank = dict((corrupted or {}).get(recipe, {}))
    missing = [c for c in wanted if corrupted_key(c) not in bank]
    if missing:
        bank.update(corrupted_features(missing, [recipe], progress=progress)[recipe])
    return bank


def _fold_work(model, fold, features: np.ndarray, targets: np.ndarray, table: pd.DataFrame, augmentation,
               corrupted) -> tuple:
    """What one fold's fit needs (:func:`_fit_fold`): the unfitted ``model``, the rows it fits on (with their
    corrupted copies), the held-out validation rows, and, for a family that does not stop early on them, every
    training row to refit on. The model travels built, so that a worker needs its class, not the registry."""
    fit_copies, refit_copies = (fold.fit_copies, fold.refit_copies) if augmentation else ((), ())
    held_out = (features[fold.validation], targets[fold.validation])
    fit = with_copies(features, targets, table, fold.fit, fit_copies, corrupted)
    refit = None if model.uses_validation else with_copies(features, targets, table, fold.train, refit_copies, corrupted)
    return model, fit, held_out, refit


def _fit_fold(work: tuple):
    """One fold's model, fitted where the engine runs it (a worker process here, or a Dask worker):
    (the fitted model, its probabilities of the held-out validation rows before any temperature, seconds).

    A family that stops early does so on the held-out rows; any other fits without them, predicts them (what
    calibration and the ensemble read), then is refitted on every training row (:func:`_fold_work`).
    """
    model, fit, held_out, refit = work
    start = time.perf_counter()
    model.fit(*fit, held_out if refit is None else None)
    validation = model.predict_proba(held_out[0])
    if refit is not None:
        model = model.clone().fit(*refit)
    return model, validation, time.perf_counter() - start


def with_copies(features: np.ndarray, targets: np.ndarray, table: pd.DataFrame, index, copies: list, corrupted):
    """(features, targets) of the rows at ``index`` plus the usable corrupted copies of those clips (``copies``)."""
    if not copies:
        return features[index], targets[index]
    target_of = dict(zip(table["path"].iloc[index], targets[index]))
    extra = [(corrupted[corrupted_key(c)], target_of[c.path]) for c in copies]
    extra = [(row, target) for row, target in extra if not isinstance(row, str)]
    if not extra:
        return features[index], targets[index]
    rows, extra_targets = zip(*extra)
    return np.concatenate([features[index], np.stack(rows)]), np.concatenate([targets[index], extra_targets])


def study_predictions(model, table: pd.DataFrame, tested: list, corrupted: dict, fold: int) -> pd.DataFrame:
    """The fold model's predictions of its corrupted test clips: a predictions table with condition and level."""
    usable = [(name, level, c) for name, level, c in tested if not isinstance(corrupted[corrupted_key(c)], str)]
    probabilities = model.predict_proba(np.stack([corrupted[corrupted_key(c)] for *_, c in usable]))
    return study_table(table, usable, fold, probabilities, model.labels)


def _average_runs(tables: list[pd.DataFrame], columns: list[str], keys=("path", "fold")) -> pd.DataFrame:
    """Mean probabilities of the clips (``keys``: path and fold) that every table holds, in the first table's row order."""
    keys = list(keys)
    indexed = [table.set_index(keys) for table in tables]
    common = indexed[0].index
    for other in indexed[1:]:
        common = common.intersection(other.index, sort=False)
    averaged = indexed[0].loc[common].copy()
    averaged[columns] = np.mean([other.loc[common, columns].to_numpy() for other in indexed], axis=0)
    return averaged.reset_index()[tables[0].columns]


def combine_runs(member_runs: list[Run], name: str = "ensemble") -> Run:
    """The ensemble's run from its members' runs under one protocol: probabilities averaged per clip and fold.

    Only clips that every member predicted are kept. Each fold's temperature is fitted on
    the averaged validation predictions of that fold (an average of models is under-confident). The run's
    model is the ensemble of the members' delivered models, its temperature fitted on every fold's averaged
    validation predictions pooled; its fold model that of the members' first-fold models (none under
    ``speaker-norm``).
    """
    first = member_runs[0]
    if any(run.labels != first.labels or run.protocol != first.protocol for run in member_runs):
        raise ValueError("ensemble members must share labels and protocol")
    columns = [probability_column(label) for label in first.labels]
    predictions = _average_runs([run.predictions for run in member_runs], columns)
    validation = _average_runs([run.validation for run in member_runs], columns)
    studied = all(run.robustness is not None for run in member_runs)
    robustness = _average_runs([run.robustness for run in member_runs], columns,
                               keys=("path", "fold", "condition", "level")) if studied else None
    codes = {label: code for code, label in enumerate(first.labels)}
    pooled_temperature = fit_temperature(validation[columns].to_numpy(), validation["label"].map(codes).to_numpy())
    records = []
    for i, fold in enumerate(first.folds):
        held_out = validation["fold"] == fold["fold"]
        temperature = fit_temperature(validation.loc[held_out, columns].to_numpy(),
                                      validation.loc[held_out, "label"].map(codes).to_numpy())
        for table in (predictions, validation) + ((robustness,) if studied else ()):
            rows = table["fold"] == fold["fold"]
            table.loc[rows, columns] = with_temperature(table.loc[rows, columns].to_numpy(), temperature)
        records.append({"fold": fold["fold"], "test_actors": fold["test_actors"], "history": {}, "epochs_run": 0,
                        "members": [run.model_name for run in member_runs], "temperature": temperature,
                        "seconds": round(sum(run.folds[i]["seconds"] for run in member_runs), 2),
                        "predict_seconds": round(sum(run.folds[i].get("predict_seconds", 0) for run in member_runs), 3)})
    model = _ensemble_of([run.model for run in member_runs], pooled_temperature)
    if model is not None:
        model.metadata |= delivery_record(records, first.protocol, {
            "members": {member.name: {key: member.metadata["delivered"][key] for key in TRAINING_KEYS}
                        for member in model.members},
            "temperature": POOLED_TEMPERATURE})
    fold_model = _ensemble_of([run.fold_model for run in member_runs], records[0]["temperature"])
    return Run(name, first.protocol, first.labels, predictions, records, model, first.dataset, validation, robustness,
               fold_model=fold_model)


def _ensemble_of(members: list, temperature: float):
    """The ensemble of fitted ``members`` with ``temperature``, the first member's metadata and the members' fit
    seconds summed (None if a member is missing)."""
    from .models.ensemble import EnsembleModel

    if any(member is None for member in members):
        return None
    ensemble = EnsembleModel.from_members(members)
    ensemble.metadata = dict(members[0].metadata) | {
        "fit_seconds": round(sum(member.metadata.get("fit_seconds", 0) for member in members), 2)}
    ensemble.temperature = temperature
    return ensemble


def _actors(table: pd.DataFrame, index) -> list[int]:
    """Sorted actor numbers of the rows at ``index``."""
    return sorted(int(a) for a in table.iloc[index]["actor"].unique())


def run_metadata(table, protocol, train_index, val_index, test_index, *, seed, fit_seconds, augmentation=None) -> dict:
    """What a saved model's ``metadata.json`` records besides the model's own settings."""
    return {
        "protocol": protocol,
        "protocol_description": PROTOCOLS[protocol],
        "split": {"train_actors": _actors(table, train_index), "validation_actors": _actors(table, val_index),
                  "test_actors": _actors(table, test_index), "n_train": int(len(train_index)),
                  "n_test": int(len(test_index))},
        "run_seed": seed,
        "augmentation": asdict(augmentation) if augmentation else None,
        "fit_seconds": round(fit_seconds, 2),
        "versions": package_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }


def common_clips(feature_sets: dict[str, FeatureSet]) -> dict[str, FeatureSet]:
    """Restrict every feature set to the clips that all of them could read, so that all runs share folds."""
    shared = set.intersection(*(set(fs.table["path"]) for fs in feature_sets.values()))
    restricted = {}
    for name, feature_set in feature_sets.items():
        keep = feature_set.table["path"].isin(shared).to_numpy()
        restricted[name] = FeatureSet(feature_set.features[keep], feature_set.table[keep].reset_index(drop=True),
                                      feature_set.failed, feature_set.recipe, feature_set.from_cache)
    return restricted


def member_names(params: dict) -> list[str]:
    """The ensemble's members: its ``members`` parameter, else the family's default (:func:`train_all` puts the flat
    family in the place of a factorised member that was not trained: labels without gender)."""
    return list(params.get("ensemble", {}).get("members", model_class("ensemble").defaults["members"]))


def train_all(table: pd.DataFrame, *, plan: dict | None = None, n_folds: int = 6, params: dict | None = None,
              seed: int = config.DEFAULT_SEED, augmentation: Augmentation | None = None, study: tuple[str, ...] = (),
              deliver: bool = True, progress: bool = True) -> dict[tuple[str, str], Run]:
    """Run every model of ``plan`` (model -> protocols) over all folds; the ensemble from its members' runs.

    The ensemble runs under a protocol only where all its members did. ``augmentation``, ``study``
    and ``deliver`` (fit the delivered models on every clip; the accuracy benchmark, which saves
    nothing, does not) act as in :func:`cross_validate`; the corrupted clips they need are
    extracted first, once for all models (each clip corrupted once for every feature recipe), and the delivered
    models are fitted last, side by side (:func:`deliver_models`).
    """
    params, plan = params or {}, plan or accuracy_plan()
    labels = list(table["label"].cat.categories)
    trained = [name for name in plan if name != "ensemble" and _applies(name, labels)]
    feature_sets = {}
    for name in trained:
        feature_sets[name] = extract_features(table, model_class(name).default_recipe(), progress=progress)
        if feature_sets[name].failed:
            print(f"{name}: skipped {len(feature_sets[name].failed)} unusable file(s):",
                  *(f"{path}: {reason}" for path, reason in feature_sets[name].failed), sep="\n  ")
    if not trained:
        raise ValueError(f"no model of the plan {list(plan)} can learn the labels {labels}")
    feature_sets = common_clips(feature_sets)
    table = feature_sets[trained[0]].table  # the clips every model could read
    plans = {protocol: plan_folds(table, protocol, n_folds=n_folds, seed=seed, augmentation=augmentation, study=study,
                                  deliver=deliver) for protocol in dict.fromkeys(p for n in trained for p in plan[n])}
    augmenting = {name for name in trained if model_class(name).augments} if augmentation else set()
    corrupted = extract_corrupted(plans, {n: plan[n] for n in trained}, {n: feature_sets[n].recipe for n in trained},
                                  augmenting, progress=progress)
    runs, deliveries = {}, {}
    for name in networks_first(trained):
        for protocol in plan[name]:
            runs[name, protocol], deliveries[name, protocol] = _cross_validate(
                feature_sets[name], name, protocol, n_folds=n_folds, max_folds=None, params=params.get(name), seed=seed,
                augmentation=augmentation, study=study, corrupted=corrupted, deliver=deliver, plan=plans[protocol],
                progress=progress, n_jobs=-1)
    runs = {(name, protocol): runs[name, protocol] for name in trained for protocol in plan[name]}  # the plan's order
    delivering = [key for key, delivery in deliveries.items() if delivery is not None]
    for key, model in zip(delivering, deliver_models([deliveries[key] for key in delivering])):
        runs[key].model = model
    members = member_names(params)
    for protocol in plan.get("ensemble", ()):
        available = [runs[m, protocol] if (m, protocol) in runs else runs[flat, protocol]
                     for m, flat in ((m, m.removesuffix("_factorised")) for m in members)
                     if (m, protocol) in runs or (flat, protocol) in runs]
        if len(available) == len(members):  # never an ensemble with a member missing
            runs["ensemble", protocol] = combine_runs(available)
    return runs


def networks_first(names: list[str]) -> list[str]:
    """``names`` with the families that train for the most epochs (the networks) first, the others in their order.

    A worker process measures its memory after its first task and is replaced once it has grown by 300 MB (joblib's
    guard against leaks), which loading TensorFlow does: when classical models ran first, every worker was replaced
    after its first network fold, and its successor loaded TensorFlow again (6-8 s of both cores idle per report).
    Networks first, the workers' first task loads it.
    """
    return sorted(names, key=lambda name: -model_class(name).defaults.get("epochs", 0))


def extract_corrupted(plans: dict[str, FoldPlan], plan: dict, recipes: dict, augmenting: set[str], *,
                      progress: bool = True) -> dict:
    """Features, per recipe, of every corrupted clip that the runs of ``plan`` (model -> protocols) train on (the
    models in ``augmenting``) or are studied on, read from each protocol's :class:`~ser_utils.folds.FoldPlan`
    (``plans``); ``recipes`` maps each model to its recipe. A clip is corrupted once for all recipes that need it."""
    needs: dict = {}  # corruption -> the recipes whose models train or are studied on it
    for name, protocols in plan.items():
        for protocol in protocols:
            copies = plans[protocol].training_copies() if name in augmenting else []
            for corruption in copies + plans[protocol].studied_copies():
                needs.setdefault(corruption, set()).add(recipes[name])
    groups: dict = {}  # the same recipes -> their corruptions
    for corruption, wanted in needs.items():
        groups.setdefault(frozenset(wanted), []).append(corruption)
    corrupted: dict = {}
    for wanted, corruptions in groups.items():
        for rate in sorted({(recipe.sample_rate, recipe.res_type) for recipe in wanted}):
            same_rate = [recipe for recipe in wanted if (recipe.sample_rate, recipe.res_type) == rate]
            for recipe, bank in corrupted_features(corruptions, same_rate, progress=progress).items():
                corrupted.setdefault(recipe, {}).update(bank)
    return corrupted


def _applies(name: str, labels: list[str]) -> bool:
    """Whether the family ``name`` can learn ``labels`` (factorised models need gender_emotion labels)."""
    try:
        build_model(name, labels)
    except ModelMismatch as error:
        print(f"{name}: not trained ({error})")
        return False
    return True


def train_and_save(table: pd.DataFrame, *, dataset: dict, plan: dict | None = None, n_folds: int = 6,
                   params: dict | None = None, seed: int = config.DEFAULT_SEED, augmentation: Augmentation | None = None,
                   progress: bool = True, reuse: bool = False) -> dict[tuple[str, str], Run]:
    """:func:`train_all`, then save each run to ``models/<dataset>/<model>-<protocol>``.

    Run folders of ``dataset`` that this training did not produce (an earlier plan or label
    scheme) are removed, so that evaluation never mixes runs of different trainings. With ``reuse``, the saved runs
    are read back instead when the last training had the same code, package versions, clips and settings
    (:func:`ser_utils.runs.training_key`): re-running notebook 03 in class takes seconds, not minutes.
    """
    key = training_key(table, {"plan": plan, "n_folds": n_folds, "params": params, "seed": seed,
                               "augmentation": augmentation})
    reusable = reusable_runs(dataset["name"], key) if reuse else None
    if reusable is not None:
        print(f"reusing the runs trained at {reusable[1]} UTC: the same code, package versions, clips and "
              "parameters would train the same models (REUSE_RUNS = False trains again)")
        return reusable[0]
    forget_training(dataset["name"])
    runs = train_all(table, plan=plan, n_folds=n_folds, params=params, seed=seed, augmentation=augmentation,
                     progress=progress)
    current = {config.run_dir(dataset["name"], name, protocol) for name, protocol in runs}
    for stale in set(run_dirs(dataset["name"])) - current:
        print(f"removing {stale.name}: a run of an earlier training")
        shutil.rmtree(stale)
    for (name, protocol), run in runs.items():
        run.dataset = dataset
        for model in (run.model, run.fold_model):
            if model is not None:
                model.metadata["dataset"] = dataset
        save_run(run, config.run_dir(dataset["name"], name, protocol))
    remember_training(dataset["name"], key, runs)
    return runs


def training_summary(runs: dict[tuple[str, str], Run]) -> pd.DataFrame:
    """Per run: folds trained, epochs run per fold, training seconds (total and per fold; an ensemble's are its
    members'), and the seconds the delivered model's fit on every actor took; "–" for a family that does not train
    by epochs and where no model is delivered."""
    rows = []
    for (model_name, protocol), run in runs.items():
        seconds = [fold["seconds"] for fold in run.folds]
        epochs = [fold["epochs_run"] for fold in run.folds]
        delivered = run.model.metadata.get("fit_seconds") if run.model is not None else None
        rows.append({"model": model_name, "protocol": protocol, "folds": len(run.folds),
                     "epochs run": ", ".join(map(str, epochs)) if any(epochs) else "–",
                     "train s (total)": round(sum(seconds), 1), "train s per fold": round(sum(seconds) / len(seconds), 1),
                     "delivered model s": "–" if delivered is None else delivered})
    return pd.DataFrame(rows).set_index(["model", "protocol"])


def stopping_summary(runs: dict[tuple[str, str], Run]) -> str:
    """Markdown: for each network run, in how many folds early stopping ended training before the epoch limit, and
    for how many epochs the delivered model trained."""
    lines = []
    for (name, protocol), run in runs.items():
        epochs = [fold["epochs_run"] for fold in run.folds]
        if not any(epochs) or run.fold_model is None:
            continue
        limit = run.fold_model.params["epochs"]
        verdict = _stopping_verdict(epochs, run.fold_model.params)
        delivered = run.model.metadata["delivered"]["epochs"] if run.model is not None else None
        then = f" The delivered model then trained {delivered} epochs on every actor." if delivered else ""
        lines.append(f"- **{name}** ({protocol}): epochs run {', '.join(map(str, epochs))} of at most {limit}: "
                     f"{verdict}.{then}")
    return "\n".join(lines) or "No network was trained."


def _stopping_verdict(epochs_run: list[int], params: dict) -> str:
    """What early stopping did in folds that ran ``epochs_run`` epochs with a network's ``params`` (its limit, warm-up
    and patience), or why it could not act."""
    limit, warmup, patience = params["epochs"], params.get("warmup_epochs", 0), params.get("patience", 0)
    if limit < warmup + patience + 1:
        kept = "the last epoch was kept" if limit <= warmup else f"the best epoch from {warmup + 1} on was kept"
        return f"early stopping cannot end a run of {limit} epochs (it watches from epoch {warmup + 1} and waits " \
               f"{patience}), so {kept}"
    early = sum(count < limit for count in epochs_run)
    if early == len(epochs_run):
        return "stopped early in every fold"
    if early:
        return f"stopped early in {early} of {len(epochs_run)} folds; the others ran to the limit, so more epochs " \
               "might still have helped"
    return "ran to the limit in every fold (early stopping never triggered), so more epochs might help"
