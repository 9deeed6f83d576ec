"""Parallel work on a Dask cluster (SER_SCHEDULER) gives what this machine's cores give, and runs on its workers."""

from __future__ import annotations

import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream

from ser_utils import augment, engine, features, parameters, training


@pytest.fixture(scope="module")
def cluster():
    """A Dask cluster of one worker process on this machine, started by the test itself (a worker more would only
    load TensorFlow once more: what is computed where is the scheduler's business, the results must not depend on it)."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as local_cluster:
        yield local_cluster


def tasks_run_on(cluster, work):
    """(what ``work()`` returns, the names of the tasks the cluster's workers ran meanwhile)."""
    with Client(cluster.scheduler_address) as client, get_task_stream(client) as stream:
        result = work()
    return result, {task["key"][0] if isinstance(task["key"], tuple) else task["key"] for task in stream.data}


def test_features_made_on_a_dask_cluster_equal_the_local_ones(mini_table, cluster, monkeypatch, tmp_path):
    table = mini_table.head(30)
    copies = augment.Augmentation(copies=1, p_reverb=1.0, noises=(("white", 0.5), ("pink", 0.5)), seed=3).corruptions(table, np.arange(6))
    recipes = [features.StatsRecipe(), features.OpenSmileRecipe(feature_set="eGeMAPSv02")]

    def extract(cache: str):
        clean = [features.extract_features(table, recipe, cache_dir=tmp_path / cache, progress=False).features
                 for recipe in recipes]
        corrupted = features.corrupted_features(copies, [recipes[0]], cache_dir=tmp_path / cache, progress=False)
        return clean, corrupted[recipes[0]]

    local_clean, local_corrupted = extract("local")
    monkeypatch.setenv(engine.SCHEDULER_VARIABLE, cluster.scheduler_address)
    (remote_clean, remote_corrupted), tasks = tasks_run_on(cluster, lambda: extract("remote"))
    assert any("_extract_chunk" in name for name in tasks) and any("corrupted" in name for name in tasks), tasks
    for local, remote in zip(local_clean, remote_clean):
        np.testing.assert_array_equal(local, remote)
    assert local_corrupted.keys() == remote_corrupted.keys()
    for key, value in local_corrupted.items():
        np.testing.assert_array_equal(value, remote_corrupted[key])


def test_an_unreachable_scheduler_is_named_with_what_to_do(monkeypatch, mini_table):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 1)
    monkeypatch.setenv(engine.SCHEDULER_VARIABLE, "tcp://127.0.0.1:9")
    with pytest.raises(engine.EngineUnavailable, match=r"tcp://127.0.0.1:9: no Dask scheduler answers.*unset"):
        features.extract_features(mini_table.head(3), features.StatsRecipe(), cache_dir=None, progress=False)


def test_a_cluster_whose_workers_run_several_threads_is_refused(monkeypatch, mini_table):
    with LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=":0") as threaded:
        monkeypatch.setenv(engine.SCHEDULER_VARIABLE, threaded.scheduler_address)
        with pytest.raises(engine.EngineUnavailable, match="run several threads.*--nthreads 1"):
            list(engine.parallel_map(len, ["a"]))


@pytest.mark.parametrize("address,ok", [("tcp://10.0.0.5:8786", True), ("tls://scheduler.lab:8786", True), ("tcp://[::1]:8786", True),
                                        ("10.0.0.5:8786", False), ("http://host:8786", False), ("tcp://", False)])
def test_make_checks_the_scheduler_address(address, ok):
    found = parameters.problems({"SCHEDULER": address})
    assert (found == []) == ok and all("SCHEDULER=" in problem and "tcp://host:8786" in problem for problem in found)


def test_folds_and_delivered_models_trained_on_a_dask_cluster_predict_what_the_local_ones_predict(gender_table, cluster,
                                                                                                  monkeypatch):
    """Every fold's network and classical model, and the delivered models fitted on every clip afterwards, fitted on
    the cluster's workers, give the local probabilities."""
    recipe = features.MatrixRecipe(duration=1.0, n_mfcc=13, deltas=False)
    sets = {"svm": features.extract_features(gender_table, features.StatsRecipe(), cache_dir=None, progress=False),
            "cnn": features.extract_features(gender_table, recipe, cache_dir=None, progress=False)}

    def train_all(n_jobs: int):
        return [training.cross_validate(sets[name], name, "speaker", max_folds=2, params=params, progress=False,
                                        n_jobs=n_jobs)
                for name, params in (("svm", None), ("cnn", {"epochs": 2, "filters": (8, 8)}))]

    local = train_all(n_jobs=1)  # in this process: no local workers to start (and load TensorFlow) for the check
    monkeypatch.setenv(engine.SCHEDULER_VARIABLE, cluster.scheduler_address)
    remote, tasks = tasks_run_on(cluster, lambda: train_all(n_jobs=-1))
    assert any("_fit_fold" in name for name in tasks) and any("_fit_delivery" in name for name in tasks), tasks
    for local_run, remote_run in zip(local, remote):
        columns = [column for column in local_run.predictions if column.startswith("p_")]
        assert len(local_run.predictions) == len(remote_run.predictions) > 0
        np.testing.assert_allclose(local_run.predictions[columns], remote_run.predictions[columns], atol=1e-6,
                                   err_msg=local_run.model_name)
        every_clip = sets[local_run.model_name].features
        np.testing.assert_allclose(local_run.model.predict_proba(every_clip),
                                   remote_run.model.predict_proba(every_clip), atol=1e-6,
                                   err_msg=f"delivered {local_run.model_name}")
