"""Cross-validation on a small real corpus, run storage, and the 03 -> 04 hand-off with a skipped clip."""

import numpy as np
import pandas as pd
import pytest

from ser_utils import evaluation, features, runs, training


def label_encoding(feature_set):
    """Features that give the label away (a perfect model), aligned with the feature set's rows."""
    codes = feature_set.table["label"].cat.codes.to_numpy()
    encoded = np.zeros_like(feature_set.features)
    encoded[np.arange(len(codes)), codes] = 10.0
    return features.FeatureSet(encoded, feature_set.table, feature_set.failed, feature_set.recipe)


def test_a_skipped_clip_never_shifts_a_row_between_training_and_evaluation(stats_with_a_broken_clip, tmp_path):
    perfect = label_encoding(stats_with_a_broken_clip)
    assert len(perfect.failed) == 1 and len(perfect.table) == 160
    run = training.cross_validate(perfect, "svm", "speaker", progress=False)
    in_memory = evaluation.summarise(run)
    runs.save_run(run, tmp_path / "svm-speaker")
    reloaded = runs.load_run(tmp_path / "svm-speaker", labels=run.labels)
    assert evaluation.summarise(reloaded)["mean"]["uar"] == in_memory["mean"]["uar"] == 1.0
    truth = perfect.table.set_index("path")["label"].astype(str)
    assert (reloaded.predictions["label"] == truth.loc[reloaded.predictions["path"]].to_numpy()).all()


def test_cross_validation_tests_every_clip_once_on_unseen_actors(stats_with_a_broken_clip):
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", progress=False)
    predictions = run.predictions
    assert sorted(predictions["path"]) == sorted(stats_with_a_broken_clip.table["path"])
    assert predictions.groupby("fold")["gender"].nunique().eq(2).all()
    for fold in run.folds:
        tested = set(predictions.loc[predictions["fold"] == fold["fold"], "actor"])
        assert tested == set(fold["test_actors"]) and len(tested) == 2
    split = run.fold_model.metadata["split"]
    assert not set(split["train_actors"]) & set(split["test_actors"])
    assert split["test_actors"] == run.folds[0]["test_actors"]
    probabilities = predictions[[runs.probability_column(label) for label in run.labels]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_a_run_reloads_with_its_model_and_provenance(stats_with_a_broken_clip, tmp_path):
    from ser_utils.models import load_model

    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", max_folds=1, progress=False)
    run.dataset = {"name": "mini"}
    runs.save_run(run, tmp_path / "run")
    model = load_model(tmp_path / "run")
    first_fold = stats_with_a_broken_clip.table["actor"].isin(run.folds[0]["test_actors"]).to_numpy()
    np.testing.assert_allclose(model.predict_proba(stats_with_a_broken_clip.features[first_fold]),  # its ONNX copy
                               run.model.predict_proba(stats_with_a_broken_clip.features[first_fold]), atol=1e-5)
    assert {"versions", "git_commit", "date", "split", "fingerprint"} <= set(model.metadata)
    assert runs.load_run(tmp_path / "run").dataset == {"name": "mini"}


def test_runs_refuse_a_different_label_scheme_and_a_wrong_feature_kind(stats_with_a_broken_clip, tmp_path):
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", max_folds=1, progress=False)
    runs.save_run(run, tmp_path / "run")
    with pytest.raises(ValueError, match="current label scheme has"):
        runs.load_run(tmp_path / "run", labels=["angry", "calm", "fearful", "happy", "sad"])
    with pytest.raises(FileNotFoundError, match="no run.json"):
        runs.load_run(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="needs 'matrix' features"):
        training.cross_validate(stats_with_a_broken_clip, "cnn", "speaker")


def test_training_summary_lists_folds_and_epochs():
    run = runs.Run("cnn", "speaker", ["a", "b"], pd.DataFrame(), [
        {"fold": 0, "seconds": 2.0, "epochs_run": 7}, {"fold": 1, "seconds": 4.0, "epochs_run": 9}])
    classical = runs.Run("svm", "speaker", ["a", "b"], pd.DataFrame(), [{"fold": 0, "seconds": 1.0, "epochs_run": 0}])
    summary = training.training_summary({("cnn", "speaker"): run, ("svm", "speaker"): classical})
    assert summary.loc[("cnn", "speaker")].to_dict() == {
        "folds": 2, "epochs run": "7, 9", "train s (total)": 6.0, "train s per fold": 3.0, "delivered model s": "–"}
    assert summary.loc[("svm", "speaker"), "epochs run"] == "–"


def test_the_reader_is_told_where_networks_stopped_before_their_epoch_limit():
    class Network:
        params = {"epochs": 40, "warmup_epochs": 10, "patience": 10}

    class Short:
        params = {"epochs": 12, "warmup_epochs": 10, "patience": 10}

    class Shorter:
        params = {"epochs": 3, "warmup_epochs": 10, "patience": 10}

    class Delivered:
        metadata = {"delivered": {"epochs": 12}}

    summary = training.stopping_summary({
        ("cnn", "speaker"): runs.Run("cnn", "speaker", [], None, [{"epochs_run": 18}, {"epochs_run": 40}],
                                     Delivered(), fold_model=Network()),
        ("seed_cnn", "speaker"): runs.Run("seed_cnn", "speaker", [], None, [{"epochs_run": 40}] * 2,
                                          fold_model=Network()),
        ("svm", "speaker"): runs.Run("svm", "speaker", [], None, [{"epochs_run": 0}], fold_model=Network()),
        ("seed_cnn", "random"): runs.Run("seed_cnn", "random", [], None, [{"epochs_run": 12}], fold_model=Short()),
        ("cnn", "random"): runs.Run("cnn", "random", [], None, [{"epochs_run": 3}], fold_model=Shorter()),
    })
    assert "**cnn** (speaker): epochs run 18, 40 of at most 40: stopped early in 1 of 2 folds" in summary
    assert "The delivered model then trained 12 epochs on every actor." in summary
    assert "**seed_cnn** (speaker): epochs run 40, 40 of at most 40: ran to the limit in every fold" in summary
    assert "svm" not in summary
    assert ("**seed_cnn** (random): epochs run 12 of at most 12: early stopping cannot end a run of 12 epochs (it "
            "watches from epoch 11 and waits 10), so the best epoch from 11 on was kept.") in summary
    assert "**cnn** (random): epochs run 3 of at most 3: early stopping cannot end a run of 3 epochs" in summary
    assert "so the last epoch was kept." in summary


def test_speaker_norm_never_reads_a_test_label(stats_with_a_broken_clip, relabel):
    """Relabelling the test actors of fold 0 must not change a single fold-0 probability."""
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker-norm", max_folds=1, progress=False)
    relabelled = relabel(stats_with_a_broken_clip, run.folds[0]["test_actors"], 7)
    other = training.cross_validate(relabelled, "svm", "speaker-norm", max_folds=1, progress=False)
    columns = [runs.probability_column(label) for label in run.labels]
    np.testing.assert_array_equal(run.predictions[columns].to_numpy(), other.predictions[columns].to_numpy())
    assert run.model is None  # a speaker-norm model needs the new speaker's statistics: never saved to predict


def test_per_speaker_normalisation_uses_each_speakers_clips_only():
    from ser_utils.protocols import normalise_per_speaker

    values = np.array([[1.0], [3.0], [10.0], [30.0]])
    normalised = normalise_per_speaker(values, [1, 1, 2, 2])
    np.testing.assert_allclose(normalised[:, 0], [-1, 1, -1, 1])


def test_the_ensembles_run_is_what_its_saved_model_predicts(mini_table, tmp_path):
    from ser_utils.calibration import with_temperature
    from ser_utils.models import load_model

    recipes = {"svm": features.StatsRecipe(), "egemaps_lr": features.OpenSmileRecipe()}
    sets = {n: features.extract_features(mini_table, r, cache_dir=None, progress=False) for n, r in recipes.items()}
    members = [training.cross_validate(sets[n], n, "speaker", max_folds=2, progress=False) for n in recipes]
    ensemble = training.combine_runs(members)
    columns = [runs.probability_column(label) for label in ensemble.labels]
    averaged = np.mean([m.predictions[columns].to_numpy() for m in members], axis=0)
    folds = ensemble.predictions["fold"].to_numpy()
    expected = np.concatenate([with_temperature(averaged[folds == f["fold"]], f["temperature"]) for f in ensemble.folds])
    np.testing.assert_allclose(ensemble.predictions[columns].to_numpy(), expected)  # averaged, then calibrated
    runs.save_run(ensemble, tmp_path / "ensemble-speaker")
    model = load_model(tmp_path / "ensemble-speaker" / runs.FOLD_MODEL_DIR)  # the first fold's: fold 0 never heard
    delivered = load_model(tmp_path / "ensemble-speaker")
    assert delivered.metadata["split"]["test_actors"] == [] and delivered.temperature == ensemble.model.temperature
    fold0 = ensemble.predictions[ensemble.predictions["fold"] == 0]
    rows = mini_table.set_index("path").loc[fold0["path"]]
    batch = {n: sets[n].features[sets[n].table["path"].isin(fold0["path"]).to_numpy()] for n in recipes}
    assert (sets["svm"].table.loc[sets["svm"].table["path"].isin(fold0["path"]), "path"].to_numpy()
            == fold0["path"].to_numpy()).all() and len(rows) == len(fold0)
    np.testing.assert_allclose(model.predict_proba(batch), fold0[columns].to_numpy(), atol=1e-6)


def test_training_again_removes_runs_of_an_earlier_training(mini_table, tmp_path, monkeypatch):
    from ser_utils import config

    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    stale = config.run_dir("mini", "cnn", "random")
    stale.mkdir(parents=True)
    (stale / runs.RUN_FILE).write_text("{}")
    saved = training.train_and_save(mini_table, dataset={"name": "mini"}, plan={"svm": ("speaker",)}, n_folds=2,
                                     progress=False)
    assert list(saved) == [("svm", "speaker")]
    assert runs.run_dirs("mini") == [config.run_dir("mini", "svm", "speaker")]


def test_the_delivered_model_has_heard_every_actor_and_the_fold_model_has_not(stats_with_a_broken_clip, tmp_path):
    from ser_utils.models import build_model, load_model

    data = stats_with_a_broken_clip
    run = training.cross_validate(data, "svm", "speaker", max_folds=2, progress=False)
    every_actor = sorted(data.table["actor"].unique())
    delivered = run.model.metadata
    assert delivered["split"]["train_actors"] == every_actor and delivered["split"]["test_actors"] == []
    assert delivered["delivered"]["fold_test_actors"] == [fold["test_actors"] for fold in run.folds]
    assert run.fold_model.metadata["split"]["test_actors"] == run.folds[0]["test_actors"]
    on_everything = build_model("svm", run.labels, data.recipe, seed=42).fit(data.features, data.table["label"].cat.codes)
    np.testing.assert_allclose(run.model.predict_proba(data.features), on_everything.predict_proba(data.features))
    runs.save_run(run, tmp_path / "svm-speaker")
    assert load_model(tmp_path / "svm-speaker").metadata["split"]["train_actors"] == every_actor
    assert load_model(tmp_path / "svm-speaker" / runs.FOLD_MODEL_DIR).metadata["split"]["test_actors"] == \
        run.folds[0]["test_actors"]


def test_the_delivered_network_trains_for_the_median_of_the_epochs_the_folds_kept():
    def history(best: int, rates: list[float]) -> dict:
        losses = [1.0 - 0.01 * epoch if epoch < best else 2.0 for epoch in range(len(rates))]
        return {"val_loss": losses, "learning_rate": rates}

    # Keras logs the rate each epoch trained at (before a plateau halves it for the next)
    histories = [history(3, [0.1] * 8), history(5, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.01]), history(9, [0.1] * 12)]
    assert training.delivered_schedule(histories, warmup_epochs=0) == {"epochs": 5,
                                                                      "learning_rates": [0.1, 0.1, 0.05, 0.05, 0.025]}
    ran_out = [history(4, [0.1] * 4), history(7, [0.1] * 3 + [0.05] * 9)]  # median 5; the nearest fold ran only 4
    assert training.delivered_schedule(ran_out, warmup_epochs=0) == {"epochs": 5,
                                                                     "learning_rates": [0.1, 0.1, 0.1, 0.05, 0.05]}
    assert training.delivered_schedule([{}, {}], warmup_epochs=0) == {}  # not trained by epochs
    # the warm-up's epochs are never kept: the lowest loss after them, or the last epoch of a fold that never left it
    rising = {"val_loss": [1.0, 1.5, 1.4, 1.3, 1.2, 1.25], "learning_rate": [0.1] * 6}
    assert training.delivered_schedule([rising], warmup_epochs=2)["epochs"] == 5
    assert training.delivered_schedule([rising], warmup_epochs=6)["epochs"] == 6
    assert training.delivered_schedule([rising], warmup_epochs=0)["epochs"] == 1
    # as Keras keeps it: the first of equal losses, and never a NaN
    ties_and_nan = ([2.0, 1.0, 1.0, 1.2], [2.0, 1.0, float("nan"), 1.2])
    assert [training.kept_epoch(losses, 1) for losses in ties_and_nan] == [2, 2]


class _Recorded:
    """A stand-in model that remembers the rows it was fitted on."""

    def __init__(self, epochs: int | None, calibrate: bool):
        self.params = {"epochs": epochs} if epochs else {}
        self.calibrate, self.temperature = calibrate, 1.0

    def fit(self, features, targets):
        self.fitted_on = float(features.sum())
        return self


def test_delivered_models_fitted_side_by_side_come_back_to_their_own_runs():
    calibration = [(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([1, 0]))]  # confidently wrong: a temperature > 1
    deliveries = [training.Delivery(_Recorded(epochs, calibrate), lambda value=value: (np.full((2, 2), value), np.zeros(2)),
                                    calibration, {"name": value})
                  for value, epochs, calibrate in [(1.0, None, True), (2.0, 40, False), (3.0, 12, False)]]
    models = training.deliver_models(deliveries, n_jobs=2)
    assert [m.fitted_on for m in models] == [4.0, 8.0, 12.0]  # fitted longest first, returned in the runs' order
    assert [m.metadata["name"] for m in models] == [1.0, 2.0, 3.0] and all("fit_seconds" in m.metadata for m in models)
    assert models[0].temperature > 1 and models[1].temperature == models[2].temperature == 1.0
    assert training.deliver_models([]) == []


def test_networks_are_cross_validated_first_and_the_runs_keep_the_plans_order(mini_table, monkeypatch):
    order = []

    def recorded(feature_set, name, protocol, **kwargs):  # what training would do, without training
        order.append((name, protocol))
        return f"{name} / {protocol}", None

    monkeypatch.setattr(training, "_cross_validate", recorded)
    monkeypatch.setattr(training, "extract_features", lambda table, recipe, progress: features.FeatureSet(
        np.zeros((len(table), 1)), table, [], recipe, False))  # features that nothing reads
    plan = {"svm": ("speaker", "random"), "seed_cnn": ("speaker",), "cnn": ("speaker",)}
    runs = training.train_all(mini_table, plan=plan, n_folds=2, progress=False)
    assert order == [("cnn", "speaker"), ("seed_cnn", "speaker"), ("svm", "speaker"), ("svm", "random")]
    assert list(runs) == [("svm", "speaker"), ("svm", "random"), ("seed_cnn", "speaker"), ("cnn", "speaker")]
    assert runs["cnn", "speaker"] == "cnn / speaker"


def test_a_training_is_reused_only_when_code_clips_and_settings_are_unchanged(gender_table, tmp_path, monkeypatch,
                                                                               capsys):
    from ser_utils import config

    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    settings = {"dataset": {"name": "mini"}, "plan": {"svm": ("speaker", "speaker-norm")}, "n_folds": 2,
                "progress": False}

    def trains(table=gender_table, **changes):
        training.train_and_save(table, **settings | changes)
        return "reusing" not in capsys.readouterr().out

    trained = training.train_and_save(gender_table, **settings, reuse=True)
    assert "reusing" not in capsys.readouterr().out
    reused = training.train_and_save(gender_table, **settings, reuse=True)
    assert "reusing the runs trained at" in capsys.readouterr().out
    assert trains()  # without reuse, always trains
    run, again = trained["svm", "speaker"], reused["svm", "speaker"]
    pd.testing.assert_frame_equal(run.predictions.reset_index(drop=True), again.predictions, check_dtype=False,
                                  atol=1e-6)
    assert again.model is not None and again.fold_model is not None and again.folds == run.folds
    assert reused["svm", "speaker-norm"].model is None  # as trained: a speaker-norm run delivers no model
    assert trains(seed=7, reuse=True) and trains(gender_table.iloc[:-1], reuse=True)  # another seed, other clips

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training.train_and_save(gender_table, **settings, reuse=False)
    monkeypatch.undo()
    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    assert trains(reuse=True)  # the interrupted training left no record that could pass for complete
    (config.run_dir("mini", "svm", "speaker") / runs.PREDICTIONS_FILE).unlink()
    assert trains(reuse=True)  # a damaged run is trained again, not read


def test_the_training_key_follows_the_package_source(gender_table, tmp_path, monkeypatch):
    import shutil

    settings = {"plan": None, "seed": 42}
    before = runs.training_key(gender_table, settings)
    copy = tmp_path / "ser_utils"
    shutil.copytree(runs.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runs, "PACKAGE_DIR", copy)
    assert runs.training_key(gender_table, settings) == before
    models = copy / "models" / "cnn.py"
    models.write_text(models.read_text() + "\n# a change to a model's code\n")
    assert runs.training_key(gender_table, settings) != before
