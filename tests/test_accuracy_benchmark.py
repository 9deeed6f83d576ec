"""The accuracy benchmark (`make accuracy`): every model under every protocol, all folds, one leaderboard."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_leaderboard_lists_every_run_strict_protocol_first(mini_corpus, tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--dataset", "ravdess",
               "--data-dir", str(mini_corpus), "--folds", "2", "--models", "svm", "svm_factorised"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"SER_OUTPUT_DIR": str(tmp_path)},
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "reports" / "ravdess" / "accuracy.json").read_text())
    runs = [(run["protocol"], run["model"]) for run in record["runs"]]
    assert sorted(runs) == sorted([(p, m) for m in ("svm", "svm_factorised")
                                   for p in ("speaker", "speaker-norm", "random")])
    assert [p for p, _ in runs] == sorted((p for p, _ in runs), key=["speaker", "speaker-norm", "random"].index)
    assert all(run["folds"] == 2 and " ± " in run["UAR"] for run in record["runs"])
    markdown = (tmp_path / "reports" / "ravdess" / "accuracy.md").read_text()
    assert "| speaker | svm | 2 |" in markdown and "make accuracy DATASET=ravdess" in done.stdout


def _benchmark(name: str):
    """benchmarks/<name>.py, imported as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _member_run(probabilities_of, labels, n_folds=2, clips=20, seed=0):
    """A stand-in for a member's run: test and validation tables, rows in a random order of their own, whose
    probabilities ``probabilities_of(truth, rng)`` makes from each clip's true class."""
    import types

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def table(part):
        truth = np.arange(n_folds * clips) % len(labels)
        frame = pd.DataFrame({"path": [f"{part}-{i}.wav" for i in range(len(truth))], "label": np.take(labels, truth),
                              "fold": np.repeat(np.arange(n_folds), clips)})
        frame = frame.join(pd.DataFrame(probabilities_of(truth, rng), columns=[f"p_{label}" for label in labels]))
        return frame.sample(frac=1, random_state=seed).reset_index(drop=True)

    return types.SimpleNamespace(labels=labels, predictions=table("test"), validation=table("validation"))


def test_fitted_fusion_weights_follow_the_member_that_is_right_on_validation_actors():
    import numpy as np

    labels = ["female_angry", "female_sad", "male_angry", "male_sad"]
    fitted_weights_uar = _benchmark("accuracy").fitted_weights_uar
    right = _member_run(lambda truth, rng: np.eye(4)[truth] * 0.8 + 0.05, labels)
    guessing = _member_run(lambda truth, rng: rng.dirichlet(np.ones(4), size=len(truth)), labels, seed=1)
    validation, test = fitted_weights_uar([guessing, right])
    assert list(test.index) == [0, 1] and (validation == 1.0).all() and (test == 1.0).all()
    misleading = _member_run(lambda truth, rng: np.eye(4)[(truth + 1) % 4] * 0.9 + 0.025, labels, seed=2)
    _, test = fitted_weights_uar([misleading, right])
    assert (test == 1.0).all()  # the weights are fitted, not equal: an equal average would follow the surer member


def test_the_seed_benchmark_runs_every_seed_on_the_same_folds(gender_table):
    results = _benchmark("seeds").seed_runs(gender_table, "svm", [1, 2], n_folds=2)
    assert [r["seed"] for r in results] == [1, 2] and all(len(r["folds"]) == 2 for r in results)
    assert results[0]["test_actors"] == results[1]["test_actors"] and len(results[0]["test_actors"]) == 2


def test_the_ablation_leaves_out_each_member_in_turn(gender_table, monkeypatch):
    from ser_utils import evaluation, features, training
    from ser_utils.models import model_class

    members = ("svm", "egemaps_lr")
    monkeypatch.setitem(model_class("ensemble").defaults, "members", members)
    runs = {}
    for name in members:
        feature_set = features.extract_features(gender_table, model_class(name).default_recipe(), cache_dir=None,
                                                progress=False)
        runs[name, "speaker"] = training.cross_validate(feature_set, name, "speaker", n_folds=2, deliver=False,
                                                        progress=False, n_jobs=1)
    benchmark = _benchmark("accuracy")
    choices = benchmark.ensemble_choices(runs)
    assert list(choices["ensemble"]) == ["the ensemble: the average of all members", "without svm", "without egemaps_lr",
                                         "weights fitted on each fold's validation actors (log loss; grid of 0.1)"]
    single = training.combine_runs([runs["egemaps_lr", "speaker"]])  # the ensemble without svm: egemaps_lr alone
    uar = evaluation.fold_metrics(single)["uar"]
    assert choices.loc[1, "test UAR"] == f"{uar.mean():.3f} ± {uar.std(ddof=0):.3f}"
    assert benchmark.ensemble_choices({}) is None  # a member's runs missing: no table


def test_the_copies_policy_is_set_from_the_command_line_and_written_back_to_reproduce_it():
    import pytest

    accuracy = _benchmark("accuracy")
    parser = accuracy.command_line()
    args = parser.parse_args(["--augment", "--snr-db", "0", "15", "--noises", "white=0.3", "babble=0.7"])
    policy = accuracy._augmentation(parser, args)
    assert policy.snr_db == (0.0, 15.0) and policy.noises == (("white", 0.3), ("babble", 0.7))
    assert 'ACCURACY_ARGS="--augment --snr-db 0 15 --noises white=0.3 babble=0.7"' in accuracy._make_args(args)
    assert accuracy._make_args(parser.parse_args(["--augment"])) == ['ACCURACY_ARGS="--augment"']
    for bad in (["--noises", "white"], ["--noises", "hum=1"], ["--noises", "white=0.5"], ["--snr-db", "20", "0"]):
        with pytest.raises(SystemExit):
            accuracy._augmentation(parser, parser.parse_args(["--augment", *bad]))


def test_draws_of_the_folds_each_run_whole_and_a_table_over_them_comes_first(mini_corpus, tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--dataset", "ravdess",
               "--data-dir", str(mini_corpus), "--folds", "2", "--models", "svm", "--protocols", "speaker",
               "--draws", "2"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"SER_OUTPUT_DIR": str(tmp_path)},
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "reports" / "ravdess" / "accuracy-2-draws.json").read_text())
    assert [draw["seed"] for draw in record["draws"]] == [42, 1042]
    per_draw = [draw["runs"][0]["UAR"].split(" ± ")[0] for draw in record["draws"]]
    assert per_draw[0] != per_draw[1]  # each draw its own folds (the SVM is deterministic: equal folds, equal UAR)
    (row,) = record["over_draws"]
    assert (row["protocol"], row["model"]) == ("speaker", "svm") and row["UAR per draw"] == " / ".join(per_draw)
    assert abs(float(row["UAR"].split(" ± ")[0]) - sum(map(float, per_draw)) / 2) <= 0.0011  # of the unrounded means
    markdown = (tmp_path / "reports" / "ravdess" / "accuracy-2-draws.md").read_text()
    sections = ["Over the 2 draws", "## Draw 1: seed 42", "## Draw 2: seed 1042"]
    assert [markdown.index(section) for section in sections] == sorted(markdown.index(section) for section in sections)
    assert 'FOLDS=2 ACCURACY_ARGS="--models svm --protocols speaker --draws 2"' in record["command"]
    refused = subprocess.run(command[:-1] + ["0"], capture_output=True, text=True,
                             env=os.environ | {"SER_OUTPUT_DIR": str(tmp_path / "refused")}, timeout=120)
    assert refused.returncode == 2 and "--draws 0: at least one draw" in refused.stderr
