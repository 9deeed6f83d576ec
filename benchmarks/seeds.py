"""Seed benchmark: one model over all folds of the speaker protocol, once per seed of its initial weights.

A network's figure moves with the seed of its initial weights by a few points, as much as many design changes;
its design is chosen on the mean over seeds. The folds stay those of ``--fold-seed`` (``make accuracy``'s when every
model can read every clip), so only the networks' draws change: initial weights, dropout and the order of the
batches (the CNN's SpecAugment masks and input noise keep their seed, 0, in every run):

    .venv/bin/python benchmarks/seeds.py --data-dir ../shared/ravdess-sample --model cnn
    .venv/bin/python benchmarks/seeds.py --data-dir ../shared/ravdess-sample --model cnn --params '{"batch_size": 32}'

Prints each seed's UAR (mean over folds, and per fold) and the mean ± std (population, as the leaderboard's) over
seeds; trains on clean clips unless ``--copies`` is given (to models that train on copies). Nothing is saved.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ser_utils import augment, config, corpus, datasets, evaluation, training  # noqa: E402
from ser_utils.features import extract_features  # noqa: E402
from ser_utils.folds import plan_folds  # noqa: E402
from ser_utils.interrupts import interrupt_on_sigterm  # noqa: E402
from ser_utils.models import model_class  # noqa: E402


def seed_runs(table, model: str, seeds: list[int], *, params: dict | None = None, n_folds: int = 6,
              fold_seed: int = config.DEFAULT_SEED, copies: int = 0) -> list[dict]:
    """Per seed: the UAR of ``model`` on every fold of the speaker protocol (folds drawn once, from ``fold_seed``)."""
    feature_set = extract_features(table, model_class(model).default_recipe(), progress=False)
    augmentation = augment.Augmentation(copies=copies, seed=fold_seed) if copies and model_class(model).augments \
        else None
    plan = plan_folds(feature_set.table, "speaker", n_folds=n_folds, seed=fold_seed, augmentation=augmentation,
                      deliver=False)
    corrupted = training.extract_corrupted({"speaker": plan}, {model: ("speaker",)}, {model: feature_set.recipe},
                                           {model}, progress=False) if augmentation else None
    results = []
    for seed in seeds:
        start = time.perf_counter()
        run = training.cross_validate(feature_set, model, "speaker", params=params, seed=seed, plan=plan,
                                      deliver=False, progress=False, augmentation=augmentation, corrupted=corrupted)
        per_fold = evaluation.fold_metrics(run)["uar"]
        results.append({"seed": seed, "uar": float(per_fold.mean()), "folds": per_fold.round(3).tolist(),
                        "test_actors": [fold["test_actors"] for fold in run.folds],
                        "epochs": [fold["epochs_run"] for fold in run.folds],
                        "seconds": round(time.perf_counter() - start, 1)})
    return results


def main() -> None:
    interrupt_on_sigterm()  # `kill PID` stops the workers too, as Ctrl-C does
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ravdess", choices=["synthetic", "ravdess"])
    parser.add_argument("--data-dir", default=None, help="folder holding the Actor_XX folders")
    parser.add_argument("--scheme", default=config.DEFAULT_SCHEME, choices=sorted(config.LABEL_SCHEMES))
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--params", default="{}", help="the model's parameters as JSON, e.g. '{\"batch_size\": 32}'")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1042, 2042])
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--fold-seed", type=int, default=config.DEFAULT_SEED)
    parser.add_argument("--copies", type=int, default=0, help="corrupted copies per training clip (0: clean)")
    args = parser.parse_args()

    dataset = datasets.resolve_dataset(args.dataset, args.data_dir, seed=args.fold_seed, download=False)
    table = corpus.build_labels_table(dataset.path, args.scheme)
    print(f"{args.model} {args.params} on {dataset.counted(table).label}, {len(table)} clips, speaker protocol, "
          f"{args.folds} folds, {'clean training' if not args.copies else f'{args.copies} corrupted copies per clip'}")
    results = seed_runs(table, args.model, args.seeds, params=json.loads(args.params), n_folds=args.folds,
                        fold_seed=args.fold_seed, copies=args.copies)
    for result in results:
        print(f"seed {result['seed']}: UAR {result['uar']:.3f}, folds {result['folds']}, epochs {result['epochs']}, "
              f"{result['seconds']} s")
    uars = [result["uar"] for result in results]
    print(f"UAR over {len(uars)} seeds: {np.mean(uars):.3f} ± {np.std(uars):.3f}")


if __name__ == "__main__":
    main()
