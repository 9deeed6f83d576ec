"""Calibration: ECE, reliability bins, temperature scaling, and the honest place where the temperature is fitted."""

import numpy as np
import pandas as pd
import pytest

from ser_utils import calibration, evaluation, runs, training


def _softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _calibrated_sample(n=4000, classes=5, seed=0):
    """Probabilities and targets drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    probabilities = _softmax(rng.normal(0, 2.0, (n, classes)))
    targets = np.array([rng.choice(classes, p=row) for row in probabilities])
    return probabilities, targets


def test_ece_is_the_gap_between_confidence_and_accuracy():
    probabilities = np.array([[0.9, 0.1]] * 10)
    targets = np.array([0] * 5 + [1] * 5)  # 90 % confident, 50 % right
    assert calibration.expected_calibration_error(probabilities, targets) == pytest.approx(0.4)
    bins = calibration.reliability_bins(probabilities, targets)
    assert list(bins["clips"]) == [10] and bins["accuracy"].iloc[0] == pytest.approx(0.5)


def test_the_confidence_is_that_of_the_answer_given():
    probabilities = np.array([[0.6, 0.4]] * 10)
    targets = np.array([1] * 8 + [0] * 2)  # answered 1 (at 0.4) by another rule: right 8 times of 10
    bins = calibration.reliability_bins(probabilities, targets, answers=np.ones(10, dtype=int))
    assert bins["confidence"].iloc[0] == pytest.approx(0.4) and bins["accuracy"].iloc[0] == pytest.approx(0.8)
    assert calibration.ece_of_bins(bins) == pytest.approx(0.4)
    assert calibration.expected_calibration_error(probabilities, targets) == pytest.approx(0.6 - 0.2)  # the top class


def test_a_calibrated_sample_has_a_small_ece_and_a_sharpened_one_a_large_ece():
    probabilities, targets = _calibrated_sample()
    assert calibration.expected_calibration_error(probabilities, targets) < 0.03
    sharpened = calibration.with_temperature(probabilities, 0.5)
    assert calibration.expected_calibration_error(sharpened, targets) > 0.1
    assert calibration.reliability_bins(sharpened, targets)["clips"].sum() == len(targets)


def test_temperature_scaling_undoes_a_known_sharpening_and_never_changes_the_ranking():
    probabilities, targets = _calibrated_sample()
    sharpened = calibration.with_temperature(probabilities, 0.5)
    temperature = calibration.fit_temperature(sharpened, targets)
    assert temperature == pytest.approx(2.0, rel=0.1)
    restored = calibration.with_temperature(sharpened, temperature)
    np.testing.assert_array_equal(restored.argmax(axis=1), probabilities.argmax(axis=1))
    np.testing.assert_allclose(calibration.with_temperature(sharpened, 1 / 0.5), probabilities, atol=1e-9)
    assert calibration.expected_calibration_error(restored, targets) < 0.03


@pytest.fixture
def calibrated_svm(monkeypatch):
    """The SVM family with calibration switched on (it is off by default: see ``Model.calibrate``)."""
    from ser_utils.models.svm import SVMModel

    monkeypatch.setattr(SVMModel, "calibrate", True)


def test_the_temperature_is_fitted_on_validation_actors_never_on_test_actors(stats_with_a_broken_clip, calibrated_svm,
                                                                            relabel):
    """Relabelling fold 0's test actors changes neither the fold's temperature nor its probabilities."""
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", max_folds=1, progress=False)
    relabelled = relabel(stats_with_a_broken_clip, run.folds[0]["test_actors"], 3)
    other = training.cross_validate(relabelled, "svm", "speaker", max_folds=1, progress=False)
    assert run.folds[0]["temperature"] == other.folds[0]["temperature"] != 1.0
    columns = [runs.probability_column(label) for label in run.labels]
    np.testing.assert_array_equal(run.predictions[columns].to_numpy(), other.predictions[columns].to_numpy())
    assert run.fold_model.temperature == run.folds[0]["temperature"]


def test_the_delivered_models_temperature_is_fitted_on_every_folds_validation_pooled(stats_with_a_broken_clip,
                                                                                    calibrated_svm):
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", max_folds=2, progress=False)
    columns = [runs.probability_column(label) for label in run.labels]
    raw = []  # each fold's validation probabilities before its own temperature
    for fold in run.folds:
        rows = run.validation[run.validation["fold"] == fold["fold"]]
        raw.append(calibration.with_temperature(rows[columns].to_numpy(), 1 / fold["temperature"]))
    targets = pd.Categorical(run.validation["label"], categories=run.labels).codes
    assert run.model.temperature == pytest.approx(calibration.fit_temperature(np.concatenate(raw), targets), rel=1e-3)
    assert len({run.model.temperature, *(fold["temperature"] for fold in run.folds)}) == 3


def test_families_not_calibrated_keep_their_probabilities(stats_with_a_broken_clip):
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", max_folds=1, progress=False)
    assert run.folds[0]["temperature"] == run.model.temperature == run.fold_model.temperature == 1.0
    summary = evaluation.calibration_summary(run)
    assert summary["ece"] == summary["ece_uncalibrated"]


def test_the_summary_reports_ece_before_and_after_calibration():
    """A worked case: every clip answered "a" at 0.9 (after a temperature of 2), half of them right."""
    predictions = pd.DataFrame({"path": [f"{i}.wav" for i in range(10)], "actor": 1, "gender": "male", "fold": 0,
                                "label": ["a"] * 5 + ["b"] * 5, "p_a": 0.9, "p_b": 0.1})
    run = runs.Run("toy", "speaker", ["a", "b"], predictions, [{"fold": 0, "temperature": 2.0}])
    summary = evaluation.calibration_summary(run)
    assert summary["ece"] == pytest.approx(0.9 - 0.5)
    assert summary["ece_uncalibrated"] == pytest.approx(0.81 / (0.81 + 0.01) - 0.5, abs=1e-4)  # 0.9² : 0.1², sharper
    assert summary["temperatures"] == [2.0]
    not_calibrated = runs.Run("toy", "speaker", ["a", "b"], predictions, [{"fold": 0, "temperature": 1.0}])
    assert list(evaluation.calibration_bins(not_calibrated)) == ["as predicted (no temperature fitted)"]
    assert evaluation.calibration_summary(not_calibrated)["ece"] == pytest.approx(0.4)
    actors = pd.DataFrame({"actor": [1, 2, 3, 4], "gender": ["male", "female", "male", "female"]})
    assert evaluation.temperature_note(not_calibrated, actors) == "temperature per fold: 1.00 (none fitted)"
    calibrated = runs.Run("toy", "speaker", ["a", "b"], predictions,
                          [{"fold": 0, "temperature": 2.0, "test_actors": [1, 2]}])
    assert evaluation.temperature_note(calibrated, actors) == (
        "temperature per fold: 2.00 (each fitted on its fold's validation clips: 15 % of the training actors' clips "
        "(too few actors of a gender to hold one out))")


def test_the_uncalibrated_probabilities_are_those_before_each_folds_temperature(stats_with_a_broken_clip,
                                                                              calibrated_svm):
    run = training.cross_validate(stats_with_a_broken_clip, "svm", "speaker", max_folds=2, progress=False)
    raw = evaluation.uncalibrated(run)
    first = raw["fold"] == 0
    columns = [runs.probability_column(label) for label in run.labels]
    np.testing.assert_allclose(calibration.with_temperature(raw.loc[first, columns].to_numpy(), run.folds[0]["temperature"]),
                               run.predictions.loc[first, columns].to_numpy(), atol=1e-9)
