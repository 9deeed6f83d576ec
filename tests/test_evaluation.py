"""Metrics against hand-computed examples, and the seed's gender rule."""

import json

import numpy as np
import pandas as pd
import pytest

from ser_utils import config, decisions, evaluation, runs

LABELS = list(config.LABEL_SCHEMES["gender_emotion5"]["classes"])  # female_* then male_*


def one_hot_rows(classes, confidence=0.91):
    rows = np.full((len(classes), 10), (1 - confidence) / 9)
    rows[np.arange(len(classes)), classes] = confidence
    return rows


def test_gender_rule_sums_each_genders_probabilities():
    # argmax is male_angry (0.30) but the female half sums to 0.55: the seed's rule says female
    row = np.array([[0.11, 0.11, 0.11, 0.11, 0.11, 0.30, 0.05, 0.05, 0.05, 0.00]])
    gender, total = decisions.gender_decision(row, LABELS)
    assert gender[0] == "female" and total[0] == pytest.approx(0.55)
    with pytest.raises(ValueError, match="do not carry gender"):
        decisions.gender_decision(row[:, :5], list(config.SEED_EMOTIONS))


def test_metrics_match_a_hand_computed_example():
    y_true = np.array([0, 0, 1, 1, 5, 5, 6, 6, 9, 9] * 2)
    predicted = np.array([0, 1, 1, 1, 5, 0, 6, 6, 9, 4] * 2)
    result = evaluation.classification_metrics(y_true, one_hot_rows(predicted), LABELS)
    assert result["accuracy"] == pytest.approx(0.7)
    assert result["precision_micro"] == result["recall_micro"] == result["f1_micro"] == pytest.approx(0.7)
    # recall per present class: 0: .5, 1: 1, 5: .5, 6: 1, 9: .5; classes with no clip are not averaged in
    assert result["uar"] == result["recall_macro"] == pytest.approx((0.5 + 1 + 0.5 + 1 + 0.5) / 5)
    # genders wrong only for 5->0 (male->female) and 9->4 (male->female): 2 of 10
    assert result["gender_accuracy"] == pytest.approx(0.8)
    # emotions: 0->1 (angry->calm) and 9->4 (sad->sad: right): 1 wrong of 10; 5->0 angry->angry right
    assert result["emotion_accuracy"] == pytest.approx(0.9)
    assert np.isnan(result["auc_macro"])  # some classes have no test clip


def test_perfect_and_auc_on_all_classes():
    y_true = np.repeat(np.arange(10), 3)
    result = evaluation.classification_metrics(y_true, one_hot_rows(y_true), LABELS)
    assert result["accuracy"] == result["f1_macro"] == result["auc_macro"] == result["auc_micro"] == 1.0
    report = evaluation.per_class_report(y_true, one_hot_rows(y_true), LABELS)
    assert list(report.index) == LABELS and (report["roc_auc"] == 1).all() and (report["support"] == 3).all()


def test_a_class_with_no_clip_in_a_fold_is_no_recall_of_zero():
    """A fold without one class (its clips left out as unreadable): every answer right scores 1, not 0.9."""
    y_true = np.repeat([0, 1, 2, 3, 4, 5, 6, 7, 8], 2)
    result = evaluation.classification_metrics(y_true, one_hot_rows(y_true), LABELS)
    assert result["uar"] == result["f1_macro"] == result["precision_macro"] == 1.0
    wrong = evaluation.classification_metrics(y_true, one_hot_rows(np.where(y_true == 8, 9, y_true)), LABELS)
    assert wrong["uar"] == wrong["f1_macro"] == wrong["precision_macro"] == pytest.approx(8 / 9)


def test_emotion_accuracy_and_calibration_score_the_answer_a_user_is_given():
    """The female half sums to 0.55, so the answer is female_calm (0.14), though male_angry (0.30) is the top class
    and angry the most probable emotion summed over genders: the answer is right, at a confidence of 0.14."""
    row = np.array([[0.10, 0.14, 0.10, 0.11, 0.10, 0.30, 0.05, 0.05, 0.05, 0.00]])
    female_calm = LABELS.index("female_calm")
    assert decisions.decide(row, LABELS)[0] == female_calm
    result = evaluation.classification_metrics(np.array([female_calm]), row, LABELS)
    assert result["accuracy"] == result["emotion_accuracy"] == result["gender_accuracy"] == 1.0
    predictions = pd.DataFrame({"path": ["a.wav"], "actor": 2, "gender": "female", "fold": 0, "label": ["female_calm"]}
                               | {runs.probability_column(label): row[0, i] for i, label in enumerate(LABELS)})
    run = runs.Run("toy", "speaker", LABELS, predictions, [{"fold": 0}])
    assert evaluation.calibration_summary(run)["ece"] == pytest.approx(1 - 0.14)  # not |0.30 - 0| for the top class


def test_emotion_only_labels_have_no_gender_metrics():
    labels = list(config.SEED_EMOTIONS)
    y = np.array([0, 1, 2, 3, 4])
    result = evaluation.classification_metrics(y, np.eye(5), labels)
    assert result["accuracy"] == 1 and "gender_accuracy" not in result


def _summary(model, protocol, uar, folds=6):
    return {"model": model, "protocol": protocol, "n_folds": folds, "train_seconds": 1.0, "predict_ms_per_clip": 0.1,
            "mean": {"uar": uar, "f1_macro": uar}, "std": {"uar": 0.05, "f1_macro": 0.04}}


def test_leaderboard_puts_the_strict_protocol_first_and_the_best_model_on_top():
    summaries = [_summary("svm", "random", 0.9), _summary("svm", "speaker", 0.6), _summary("cnn", "speaker", 0.7),
                 _summary("svm", "speaker-norm", 0.8)]
    board = evaluation.leaderboard(summaries)
    assert list(board.index) == [("speaker", "cnn"), ("speaker", "svm"), ("speaker-norm", "svm"), ("random", "svm")]
    assert board.loc[("speaker", "cnn"), "UAR"] == "0.700 ± 0.050" and board.loc[("speaker", "cnn"), "gender acc"] == "–"
    markdown = evaluation.markdown_table(board)
    assert markdown.splitlines()[2].startswith("| speaker | cnn | 6 | 0.700 ± 0.050")


def test_headline_is_the_best_strict_run_never_speaker_norm_or_random():
    summaries = [_summary("svm", "random", 0.9), _summary("svm", "speaker-norm", 0.8), _summary("svm", "speaker", 0.6),
                 _summary("cnn", "speaker", 0.7)]
    assert evaluation.headline(summaries)["model"] == "cnn"
    assert evaluation.headline(summaries, "svm")["mean"]["uar"] == 0.6
    with pytest.raises(ValueError, match="speaker-independent"):
        evaluation.headline(summaries[:2])


def test_a_model_without_a_random_split_run_says_so_and_names_the_one_the_gap_compares():
    summaries = [_summary("svm", "random", 0.9), _summary("svm", "speaker", 0.6), _summary("cnn", "speaker", 0.7)]
    note = evaluation.random_split_note(summaries, "cnn")
    assert note.startswith("**cnn** has no run under the random split") and "compares **svm**" in note
    assert "compares" not in evaluation.random_split_note(summaries[1:], "cnn")


def test_the_calibration_statement_reads_the_ece_of_the_metrics_file(tmp_path):
    calibrated = _summary("ensemble", "speaker", 0.7) | {"calibration": {"ece": 0.03, "ece_uncalibrated": 0.2}}
    loose = _summary("svm", "speaker", 0.6) | {"calibration": {"ece": 0.12, "ece_uncalibrated": 0.12}}
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"runs": [calibrated, loose, _summary("cnn", "speaker", 0.5)]}))
    assert evaluation.calibration_statement(path, "ensemble", "speaker").endswith("can be read as probabilities.")
    assert "off by 0.120" in evaluation.calibration_statement(path, "svm", "speaker")
    assert "as scores" in evaluation.calibration_statement(path, "svm", "speaker")
    assert "not measured" in evaluation.calibration_statement(path, "cnn", "speaker")
