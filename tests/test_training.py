"""Protocols, model builders, learning, saving and loading, and refusing mismatched features."""

import numpy as np
import pandas as pd
import pytest

from ser_utils import features, models, training
from ser_utils.models import ModelFeatureMismatch, TrainedModel


def actor_table(n_actors=24, clips=10):
    rows = [{"actor": a, "gender": "male" if a % 2 else "female", "label": f"c{k % 5}"}
            for a in range(1, n_actors + 1) for k in range(clips)]
    table = pd.DataFrame(rows)
    table["label"] = pd.Categorical(table["label"])
    return table


def test_speaker_folds_never_share_an_actor_and_balance_gender():
    table = actor_table()
    folds = training.make_folds(table, "speaker", n_folds=6, seed=1)
    assert len(folds) == 6
    tested = []
    for train_index, test_index in folds:
        train, test = table.iloc[train_index], table.iloc[test_index]
        assert not set(train["actor"]) & set(test["actor"])
        assert test.groupby("gender")["actor"].nunique().to_dict() == {"female": 2, "male": 2}
        tested += sorted(test["actor"].unique())
    assert sorted(tested) == list(range(1, 25))


def test_few_actors_give_leave_one_pair_out():
    folds = training.make_folds(actor_table(n_actors=4), "speaker", n_folds=6)
    assert len(folds) == 2


def test_validation_actors_come_from_training_actors_one_per_gender():
    table = actor_table()
    train_index, test_index = training.make_folds(table, "speaker")[0]
    fit_index, val_index = training.validation_split(table, train_index, "speaker", seed=0)
    val_actors = set(table.iloc[val_index]["actor"])
    assert len(val_actors) == 2 and {a % 2 for a in val_actors} == {0, 1}
    assert not val_actors & set(table.iloc[test_index]["actor"]) and not val_actors & set(table.iloc[fit_index]["actor"])


def test_random_protocol_mixes_speakers_like_the_seed():
    table = actor_table()
    train_index, test_index = training.make_folds(table, "random", n_folds=5)[0]
    assert set(table.iloc[test_index]["actor"]) & set(table.iloc[train_index]["actor"])
    with pytest.raises(ValueError, match="unknown protocol"):
        training.make_folds(table, "by-colour")


def test_builders_output_one_probability_row_per_clip():
    batch = np.random.default_rng(0).normal(size=(3, 94, 80)).astype(np.float32)
    probabilities = np.asarray(models.build_cnn((94, 80), 10)(batch))
    assert probabilities.shape == (3, 10) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.asarray(models.build_seed_cnn((216,), 10)(batch[:, :, 0].repeat(3, axis=1)[:, :216])).shape == (3, 10)


def toy_problem(n=240, seed=0):
    """Two classes that differ by an offset in channels 0-9 of a noisy (94, 80) matrix."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    data = rng.normal(size=(n, 94, 80)).astype(np.float32)
    data[:, :, :10] += labels[:, None, None] * 1.5
    return data, labels


def test_cnn_learns_a_separable_toy_problem():
    data, labels = toy_problem()
    outcome = training.fit("cnn", data[:160], labels[:160], (data[160:200], labels[160:200]), n_classes=2, epochs=8,
                           seed=0)
    accuracy = (np.asarray(outcome.estimator(data[200:], training=False)).argmax(axis=1) == labels[200:]).mean()
    assert accuracy >= 0.9
    assert set(outcome.history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}


def test_training_is_deterministic_for_a_seed():
    data, labels = toy_problem(120)
    runs = [training.fit("cnn", data[:80], labels[:80], (data[80:], labels[80:]), n_classes=2, epochs=2, seed=5)
            for _ in range(2)]
    assert runs[0].history["loss"] == runs[1].history["loss"]


@pytest.mark.parametrize("name", ["cnn", "svm"])
def test_save_then_load_gives_identical_predictions(tmp_path, name):
    recipe = features.MatrixRecipe() if name == "cnn" else features.StatsRecipe()
    data, labels = toy_problem(120)
    if name == "svm":
        data = np.concatenate([data.mean(axis=1), data.std(axis=1)], axis=1)
    outcome = training.fit(name, data[:100], labels[:100], (data[100:], labels[100:]), n_classes=2, epochs=2, seed=0)
    trained = TrainedModel(name, outcome.estimator, ["a", "b"], recipe, {"note": "toy"})
    trained.save(tmp_path / "run")
    loaded = models.load_model(tmp_path / "run")
    np.testing.assert_allclose(loaded.predict_proba(data[100:]), trained.predict_proba(data[100:]), atol=1e-6)
    assert loaded.labels == ["a", "b"] and loaded.recipe == recipe and loaded.metadata["note"] == "toy"
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]


def test_mismatched_features_are_refused_with_a_clear_error():
    trained = TrainedModel("svm", None, ["a", "b"], features.StatsRecipe(), {})
    with pytest.raises(ModelFeatureMismatch, match=r"expects a batch of stats features of shape \(160,\)"):
        trained.predict_proba(np.zeros((2, 216)))


def test_missing_model_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metadata.json"):
        models.load_model(tmp_path)


def test_experiment_on_a_small_real_corpus_saves_and_reloads(tmp_path, mini_table):
    feature_set = features.extract_features(mini_table, features.StatsRecipe(), cache_dir=None, progress=False)
    experiment = training.run_experiment(feature_set, "svm", "speaker", progress=False)
    assert len(experiment.folds) == 2
    for fold in experiment.folds:
        assert len(fold.test_actors) == 2 and fold.probabilities.shape == (len(fold.test_index), 10)
    training.save_experiment(experiment, tmp_path / "svm-speaker", dataset={"name": "mini"}, summary={})
    reloaded = training.load_experiment(tmp_path / "svm-speaker", feature_set.table)
    np.testing.assert_array_equal(reloaded.folds[1].probabilities, experiment.folds[1].probabilities)
    metadata = reloaded.model.metadata
    assert metadata["split"]["test_actors"] == experiment.folds[0].test_actors
    assert {"versions", "git_commit", "date", "recipe", "labels", "sample_rate"} <= set(metadata)
    with pytest.raises(ValueError, match="needs 'matrix' features"):
        training.run_experiment(feature_set, "cnn", "speaker")


def test_four_actor_corpus_validates_on_clips_of_training_actors():
    table = actor_table(n_actors=4, clips=60)
    train_index, test_index = training.make_folds(table, "speaker")[0]
    fit_index, val_index = training.validation_split(table, train_index, "speaker", seed=0)
    assert len(fit_index) > len(val_index) > 0
    assert set(table.iloc[val_index]["actor"]) <= set(table.iloc[train_index]["actor"])
    assert not set(table.iloc[fit_index]["actor"]) & set(table.iloc[test_index]["actor"])
