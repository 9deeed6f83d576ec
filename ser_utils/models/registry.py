"""The one list of model families: each a :class:`Family` naming its class and the protocols it runs under. The
training plans of ``make report`` and ``make accuracy`` and the parameter checks are derived from it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .. import config
from ..features import Recipe
from .base import Model

#: Every evaluation protocol, in :data:`ser_utils.protocols.PROTOCOLS`'s order (a test keeps the two equal; spelled
#: here so that the registry does not import scikit-learn's splitters).
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


def model_class(name: str) -> type[Model]:
    """The :class:`Model` subclass registered as ``name`` (its module imported on first use)."""
    try:
        module_name, class_name = REGISTRY[name].target.split(":")
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}") from None
    relative = "." not in module_name
    return getattr(importlib.import_module(f".{module_name}" if relative else module_name, __package__), class_name)


def build_model(name: str, labels, recipe: Recipe | None = None, *, seed: int = config.DEFAULT_SEED, **params) -> Model:
    """A new, unfitted model of the family ``name``."""
    return model_class(name)(labels, recipe, seed=seed, **params)
